"""Ensemble trainer: every (seed, learning rate) member of one job trained together.

Plain and device-agnostic: the data sits on the device as tensors, each step gathers one
minibatch per member, one backward pass gives every member its own gradient, and a batched Adam
applies each member's own learning rate. Early stopping keeps each member's best-validation
weights; a member that diverges is frozen and flagged, never a crash of the job.

Two step loops share everything else: ReferenceSteps (below; the CPU default) and the fast path
of fast.py (the CUDA default: flat parameters, CUDA graphs). A CPU test holds them to the same
learning curve. Minibatch rows come from per-member CPU generators in chunks of `eval_every`
steps, so both loops see the same batches.
"""
from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .datasets.base import Split
from .checkpoint import Checkpointer
from .fast import FastSteps, Stopwatch, autocast
from .models import build_ensemble
from .models.base import member_generator
from .spec import TrainSpec

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

    def __init__(self, params, lrs: torch.Tensor, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = [p for p in params if p.requires_grad]
        self.lrs = lrs
        self.b1, self.b2 = betas
        self.eps, self.wd = eps, weight_decay
        self.t = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        """Update members whose `active` entry is 1; the others keep their weights."""
        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            if self.wd:
                g = g.add(p, alpha=self.wd)
            m.lerp_(g, 1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            shape = (-1,) + (1,) * (p.dim() - 1)
            scale = (self.lrs * active / c1).view(shape)
            p.sub_(scale * m / (v / c2).sqrt().add_(self.eps))


def _loss(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """Per-member mean loss: out (E, B, K), y (E, B, 1) or (E, B) -> (E,).

    Language models ("lm") predict every position: out (E, B, T, V), y (E, B, T) of token ids.
    """
    if task == "classification":
        return F.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(1)
    if task == "lm":
        return F.cross_entropy(out.flatten(1, 2).transpose(1, 2), y.flatten(1).long(), reduction="none").mean(1)
    return (out - y).pow(2).mean((1, 2))


# The metric a learning curve reports, from a split's mean loss and error rate.
METRICS = {
    "mse": lambda loss, err: loss,
    "rmse": lambda loss, err: loss.sqrt(),
    "error": lambda loss, err: err,  # 1 - accuracy
    "bpb": lambda loss, err: loss / math.log(2),  # bits per byte: nats per byte token -> bits
}
DEFAULT_METRIC = {"regression": "mse", "classification": "error", "lm": "bpb"}


@torch.no_grad()
def evaluate(model, x: torch.Tensor, y: torch.Tensor, task: str, batch: int,
             metric: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """(loss, metric) per member over a whole split; the metric is named in METRICS."""
    batch = model.eval_rows(batch)
    loss_sum = torch.zeros(model.members, device=x.device)
    wrong = torch.zeros(model.members, device=x.device)
    for i in range(0, len(x), batch):
        xb, yb = x[i : i + batch], y[i : i + batch]
        out = model(xb.unsqueeze(0).expand(model.members, *xb.shape))
        yy = yb.unsqueeze(0).expand(model.members, *yb.shape)
        loss_sum += _loss(out.float(), yy, task) * len(xb)
        if task == "classification":
            wrong += (out.argmax(-1) != yy).float().sum(1)
    loss = loss_sum / len(x)
    return loss, METRICS[metric or DEFAULT_METRIC[task]](loss, wrong / len(x))


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


class ReferenceSteps:
    """The plain step loop: the CPU path, and the reference that the fast path must match."""

    def __init__(self, model, xtr, ytr, loss_fn, lrs, weight_decay, precision):
        self.model, self.xtr, self.ytr, self.loss_fn = model, xtr, ytr, loss_fn
        self.precision = precision
        self.opt = EnsembleAdam(model.parameters(), lrs, weight_decay=weight_decay)
        self.state = list(model.parameters())  # what early stopping saves and restores
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
    def restore_best(self) -> None:
        for saved, p in zip(self.best_state, self.state):
            p.copy_(saved)


def draw_indices(generators: list[torch.Generator], n: int, steps: int, batch: int) -> torch.Tensor:
    """(steps, E, B) minibatch rows: one stream per member, from that member's own CPU generator."""
    return torch.stack([torch.randint(n, (steps, batch), generator=g) for g in generators], 1)


@contextlib.contextmanager
def matmul_precision(device: torch.device, precision: str):
    """TF32 tensor-core matmuls on CUDA unless `precision` is fp32 (bf16 also uses autocast)."""
    if device.type != "cuda":
        yield
        return
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest" if precision == "fp32" else "high")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def train_ensemble(
    family: str,
    size: int,
    model_options: dict,
    task: str,
    num_outputs: int,
    train: Split,
    val: Split,
    test: Split,
    spec: TrainSpec,
    device: str = "auto",
    *,
    fast: bool | None = None,
    history: list | None = None,
    timing: dict | None = None,
    checkpoint: str | None = None,
    checkpoint_every_s: float = 600.0,
    setup=None,
    on_eval=None,
    metric: str | None = None,
) -> list[dict]:
    """Train every (seed, lr) member of one job; return one metrics dict per member.

    `fast` picks the step loop: the CUDA-graph fast path (default on CUDA) or the reference loop
    (default on CPU). If given, `history` gets (step, validation loss per member) after every
    evaluation, and `timing` gets the seconds spent in setup, training steps and evaluation.
    With `checkpoint` (a path), the job saves its state there on SIGTERM (then raises Preempted)
    and every `checkpoint_every_s` seconds, and resumes from it if it exists (checkpoint.py).
    Hooks for pruning (imp.py): `setup(model)` runs once the model is built, before the optimiser
    sees its parameters; `on_eval(step, model)` runs at step 0 and after every evaluation chunk.
    `metric` names the reported metric (METRICS; default: the task's).
    """
    start = time.perf_counter()
    dev = pick_device(device)
    fast = dev.type == "cuda" if fast is None else fast
    with matmul_precision(dev, spec.precision):
        with Checkpointer(checkpoint, checkpoint_every_s) as ckpt:
            runs = _train(family, size, model_options, task, num_outputs, train, val, test, spec, dev, fast, history,
                          timing, ckpt, setup, on_eval, metric)  # fmt: skip
            ckpt.discard()
    wall = time.perf_counter() - start
    for r in runs:
        r["wall_time_s"] = wall
    if timing is not None:
        timing["total_s"] = wall
    return runs


def _train(family, size, model_options, task, num_outputs, train, val, test, spec, dev, fast, history, timing, ckpt,
           setup, on_eval, metric):  # fmt: skip
    t0 = time.perf_counter()
    members = Members(spec.seeds, spec.learning_rates)
    E, n = len(members), len(train)
    model = build_ensemble(family, members.seed_of, size, train.x.shape[1:], num_outputs, model_options).to(dev)
    if setup is not None:
        setup(model)
    params = model.param_count()

    def to_dev(split: Split):
        return torch.as_tensor(split.x, device=dev), torch.as_tensor(split.y, device=dev)

    (xtr, ytr), (xva, yva), (xte, yte) = to_dev(train), to_dev(val), to_dev(test)
    lrs = torch.tensor(members.lr_of, dtype=torch.float32, device=dev)
    batch, steps = min(spec.batch_size, n), spec.steps_for(n)
    batch_gens = [member_generator(s, 1) for s in members.seed_of]

    def loss_fn(out, y):
        return _loss(out, y, task)

    if fast:
        trainer = FastSteps(model, xtr, ytr, loss_fn, lrs, spec.weight_decay, batch, spec.eval_every, spec.precision)
    else:
        trainer = ReferenceSteps(model, xtr, ytr, loss_fn, lrs, spec.weight_decay, spec.precision)
    stop = EarlyStopping(trainer.state, evaluate(model, xva, yva, task, spec.eval_batch)[0], spec.patience)
    step_now = torch.zeros((), dtype=torch.long, device=dev)

    def end_of_chunk():  # validation, early stopping, divergence: device work only
        stop.update(evaluate(model, xva, yva, task, spec.eval_batch)[0], trainer.loss, step_now)

    end_of_chunk = trainer.graphed(end_of_chunk)
    train_clock, eval_clock = Stopwatch(dev), Stopwatch(dev)
    setup_s = time.perf_counter() - t0

    step = resumed = ckpt.restore(trainer, stop, batch_gens)  # 0 unless resuming a preempted job
    print(f"scalinglaws: training {E} members from step {step} of {steps}", file=sys.stderr, flush=True)
    if on_eval is not None and step == 0:
        on_eval(step, model)
    while step < steps:
        k = min(spec.eval_every, steps - step)
        idx = draw_indices(batch_gens, n, k, batch)  # host work while the device finishes the chunk
        if step and not bool(stop.active.any()):  # the one host sync per chunk
            break
        with train_clock:
            trainer.train(idx, stop.active)
        step += k
        step_now.fill_(step)
        with eval_clock:
            end_of_chunk()
        if history is not None:
            history.append((step, stop.last_val.cpu().numpy().copy()))
        if on_eval is not None:
            on_eval(step, model)
        ckpt.maybe_save(trainer, stop, step, batch_gens)  # on SIGTERM: save, then raise Preempted

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)  # the last chunk's steps still run: let them count as training
    t1 = time.perf_counter()
    stop.restore_best()
    m = min(n, spec.train_eval_size)
    tr_loss, tr_metric = evaluate(model, xtr[:m], ytr[:m], task, spec.eval_batch, metric)
    va_loss, va_metric = evaluate(model, xva, yva, task, spec.eval_batch, metric)
    te_loss, te_metric = evaluate(model, xte, yte, task, spec.eval_batch, metric)

    cols = {
        "train_loss": tr_loss, "train_metric": tr_metric,
        "val_loss": va_loss, "val_metric": va_metric,
        "test_loss": te_loss, "test_metric": te_metric,
        "best_step": stop.best_step, "diverged": stop.diverged,
    }  # fmt: skip
    cols = {k: v.cpu().numpy() for k, v in cols.items()}
    if timing is not None:
        timing.update(resumed_from_step=resumed, setup_s=setup_s, train_s=train_clock.total(), eval_s=eval_clock.total(),
                      final_eval_s=time.perf_counter() - t1, steps=step, members=E)  # fmt: skip
    runs = []
    for e in range(E):
        runs.append(
            {
                "seed": members.seed_of[e],
                "lr": members.lr_of[e],
                "params": params,
                "steps": step,
                "step_budget": steps,
                "batch_size": batch,
                "flops": model.flops_per_example() * batch * step,
                "wall_time_s": 0.0,  # set by train_ensemble
                "members": E,
                "device": dev.type,
                **{k: (bool(v[e]) if v.dtype == np.bool_ else int(v[e]) if k == "best_step" else _num(v[e])) for k, v in cols.items()},
            }
        )
    return runs


def _num(v) -> float | None:
    """A float for JSON; None where the value is not finite."""
    v = float(v)
    return v if math.isfinite(v) else None
