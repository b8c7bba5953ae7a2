"""The parts of a batched ensemble's training that both step loops share.

Members: the flattened (seed, learning rate) grid. EnsembleAdam: Adam with one learning rate per
member. ReferenceSteps: the plain step loop (the CPU path, and the reference the GPU fast path of
fast.py must match). EarlyStopping: per-member early stopping with divergence flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .fast import autocast
from .schedule import Anneal, Schedule

BLOWUP = 100.0  # a validation loss this many times the initial one counts as divergence


@dataclass
class Members:
    """The (seed, learning rate) grid, flattened: member e = seeds[e // L], lrs[e % L]."""

    seeds: list[int]
    learning_rates: list[float]
    seed_of: list[int] = field(init=False)
    lr_of: list[float] = field(init=False)

    def __post_init__(self):
        self.seed_of = [s for s in self.seeds for _ in self.learning_rates]
        self.lr_of = [lr for _ in self.seeds for lr in self.learning_rates]

    def __len__(self) -> int:
        return len(self.seed_of)


class EnsembleAdam:
    """Adam over stacked parameters, with one learning rate per member (leading dimension)."""

    def __init__(
        self,
        params,
        lrs: torch.Tensor,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        schedule: Schedule | None = None,
    ):
        self.params = [p for p in params if p.requires_grad]
        self.base, self.lrs, self.schedule = lrs, lrs.clone(), schedule
        self.b1, self.b2 = betas
        self.eps, self.wd = eps, weight_decay
        self.t = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.anneal: Anneal | None = None

    def rates(self) -> torch.Tensor:
        """Each member's rate at step t: the anneal's once it began, else the schedule's."""
        if self.anneal is not None:
            return self.anneal.apply(self.base, self.lrs)
        return self.schedule.apply(self.base, torch.tensor(float(self.t)), self.lrs) if self.schedule else self.base

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        """Update members whose `active` entry is 1; the others keep their weights."""
        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        lrs = self.rates()
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            if self.wd:
                g = g.add(p, alpha=self.wd)
            m.lerp_(g, 1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            shape = (-1,) + (1,) * (p.dim() - 1)
            scale = (lrs * active / c1).view(shape)
            p.sub_(scale * m / (v / c2).sqrt().add_(self.eps))


BIAS_DONE = 10**12  # an Adam step count at which both bias corrections are exactly 1


@torch.no_grad()
def begin_anneal(opt, anneal: Anneal, steps: torch.Tensor) -> None:
    """Switch an optimiser (EnsembleAdam or fast.FlatAdam) to `anneal`, its moments corrected for
    bias once, per member: member e's moments are those of its best state, `steps[e]` steps into
    its own training, while the shared step count says how long the whole ensemble ran. So each
    member's anneal depends on its own numbers only; from then on the count is BIAS_DONE, at
    which the corrections are 1."""
    if opt.anneal is None:  # the first anneal of the job: the moments are still the loop's
        _correct_bias(opt, steps)
    opt.anneal = anneal


def _correct_bias(opt, steps: torch.Tensor) -> None:
    t = steps.to(device=opt.base.device, dtype=torch.float64).clamp(min=1)
    for moments, beta in ((opt.m, opt.b1), (opt.v, opt.b2)):
        c = (1 - beta**t).to(torch.float32)
        for x in moments if isinstance(moments, list) else [moments]:
            x.div_(c.view((-1,) + (1,) * (x.dim() - 1)))
    if torch.is_tensor(opt.t):
        opt.t.fill_(BIAS_DONE)
    else:
        opt.t = BIAS_DONE


class ReferenceSteps:
    """The plain step loop: the CPU path, and the reference that the fast path must match."""

    def __init__(self, model, xtr, ytr, loss_fn, lrs, spec):
        self.model, self.xtr, self.ytr, self.loss_fn = model, xtr, ytr, loss_fn
        self.precision = spec.precision
        schedule = Schedule(spec.schedule, spec.warmup, spec.steps_for(len(xtr)))
        self.opt = EnsembleAdam(model.parameters(), lrs, weight_decay=spec.weight_decay, schedule=schedule)
        # what early stopping saves and restores: the weights, and Adam's moments for the anneal
        self.state = list(model.parameters()) + self.opt.m + self.opt.v + model.member_buffers()
        self.loss = torch.zeros(model.members, device=xtr.device)  # the last step's loss per member

    def train(self, idx: torch.Tensor, active: torch.Tensor) -> None:
        idx = idx.to(self.xtr.device)
        for rows in idx:  # (E, B) per step
            with autocast(self.xtr.device, self.precision):
                out = self.model(self.xtr[rows])
            loss = self.loss_fn(out.float(), self.ytr[rows])
            self.model.zero_grad(set_to_none=False)
            loss.sum().backward()
            self.opt.step(active)
        self.loss.copy_(loss.detach())

    def graphed(self, fn):
        return fn

    def begin_anneal(self, anneal: Anneal, steps: torch.Tensor) -> None:
        begin_anneal(self.opt, anneal, steps)


class EarlyStopping:
    """Per-member early stopping on validation, with divergence flags.

    Device tensors only, updated in place and without host syncs, so that the fast path can
    capture update() in a CUDA graph. A member whose loss is not finite or blows up is flagged
    `diverged` and frozen; one without improvement for `patience` evaluations is stopped.
    """

    def __init__(self, state: list[torch.Tensor], initial_val: torch.Tensor, patience: int):
        self.state, self.patience = state, patience
        self.initial = initial_val.clone()
        self.best_val = initial_val.clone()
        self.best_state = [p.detach().clone() for p in state]
        self.best_step = torch.zeros(len(initial_val), dtype=torch.long, device=initial_val.device)
        self.since_best = torch.zeros_like(self.best_step)
        self.active = torch.ones_like(initial_val)  # 1.0 while training, 0.0 once stopped
        self.diverged = torch.zeros_like(self.best_step, dtype=torch.bool)
        self.last_val = initial_val.clone()
        self.budget = torch.zeros_like(self.best_step)  # each member's step budget (trainer.py sets it)
        self.ran_out = torch.zeros_like(self.diverged)  # still training when its budget ended

    @torch.no_grad()
    def update(self, val_loss: torch.Tensor, train_loss: torch.Tensor, step: torch.Tensor) -> None:
        live = self.active.bool()
        bad = ~torch.isfinite(val_loss) | (val_loss > BLOWUP * self.initial) | ~torch.isfinite(train_loss)
        self.diverged |= bad & live
        improved = (val_loss < self.best_val) & live & ~bad
        for saved, p in zip(self.best_state, self.state):
            saved.copy_(torch.where(improved.view((-1,) + (1,) * (p.dim() - 1)), p, saved))
        self.best_val.copy_(torch.where(improved, val_loss, self.best_val))
        self.best_step.copy_(torch.where(improved, step, self.best_step))
        self.since_best.copy_(torch.where(improved, 0, self.since_best + 1))
        self.active.mul_((~bad & (self.since_best < self.patience)).float())
        self.last_val.copy_(val_loss)

    @torch.no_grad()
    def end_of_budget(self, step: int, ceiling: int) -> int:
        """At step `step`, the end of the budget of the members still training: they ran out of
        steps. Those still improving (best step in the last 10% of their budget) continue, to
        twice the budget but at most `ceiling`; the others stop. Returns the new budget, or
        `step` when no member continues. Each member's fate depends on its own numbers only."""
        at_end = self.active.bool() & (self.budget == step)
        extend = at_end & (self.best_step * 10 >= 9 * self.budget)
        new = min(2 * step, ceiling)
        if new <= step or not bool(extend.any()):
            extend.zero_()
        self.ran_out |= at_end & ~extend
        self.budget.copy_(torch.where(extend, new, self.budget))
        self.active.mul_((~(at_end & ~extend)).float())
        return new if bool(extend.any()) else step

    @torch.no_grad()
    def keep_better(self, val_loss: torch.Tensor) -> None:
        """During an anneal: keep each member's state where its validation loss beats its best.
        No patience and no step bookkeeping: `best_step` stays that of the constant-rate phase,
        which the step flags read."""
        improved = (val_loss < self.best_val) & torch.isfinite(val_loss) & ~self.diverged
        for saved, p in zip(self.best_state, self.state):
            saved.copy_(torch.where(improved.view((-1,) + (1,) * (p.dim() - 1)), p, saved))
        self.best_val.copy_(torch.where(improved, val_loss, self.best_val))

    @torch.no_grad()
    def restore_best(self) -> None:
        for saved, p in zip(self.best_state, self.state):
            p.copy_(saved)


def draw_indices(generators: list[torch.Generator], n: int, steps: int, batch: int) -> torch.Tensor:
    """(steps, E, B) minibatch rows: one stream per member, from that member's own CPU generator."""
    return torch.stack([torch.randint(n, (steps, batch), generator=g) for g in generators], 1)
