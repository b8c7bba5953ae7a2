"""Ensemble trainer: every (seed, learning rate) member of one job trained together.

Plain and device-agnostic: the data sits on the device as tensors, each step gathers one
minibatch per member, one backward pass gives every member its own gradient, and a batched Adam
applies each member's own learning rate. Early stopping keeps each member's best-validation
weights; a member that diverges is frozen and flagged, never a crash of the job.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .datasets.base import Split
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
    metric: str | None = None,
) -> list[dict]:
    """Train every (seed, lr) member of one job; return one metrics dict per member."""
    start = time.perf_counter()
    dev = pick_device(device)
    members = Members(spec.seeds, spec.learning_rates)
    E, n = len(members), len(train)
    model = build_ensemble(family, members.seed_of, size, train.x.shape[1:], num_outputs, model_options).to(dev)
    params = model.param_count()

    def to_dev(split: Split):
        return torch.as_tensor(split.x, device=dev), torch.as_tensor(split.y, device=dev)

    (xtr, ytr), (xva, yva), (xte, yte) = to_dev(train), to_dev(val), to_dev(test)
    lrs = torch.tensor(members.lr_of, dtype=torch.float32, device=dev)
    opt = EnsembleAdam(model.parameters(), lrs, weight_decay=spec.weight_decay)
    batch, steps = min(spec.batch_size, n), spec.steps_for(n)
    batch_gens = [member_generator(s, 1) for s in members.seed_of]

    active = torch.ones(E, device=dev)
    diverged = torch.zeros(E, dtype=torch.bool, device=dev)
    best_val, _ = evaluate(model, xva, yva, task, spec.eval_batch)
    initial_val = best_val.clone()
    best_state = [p.detach().clone() for p in model.parameters()]
    best_step = torch.zeros(E, dtype=torch.long, device=dev)
    since_best = torch.zeros(E, dtype=torch.long, device=dev)
    chunk, step = spec.eval_every, 0

    while step < steps and bool(active.any()):
        k = min(chunk, steps - step)
        # one index stream per member, drawn on the CPU from that member's own generator
        idx = torch.stack([torch.randint(n, (k, batch), generator=g) for g in batch_gens], 1).to(dev)
        for j in range(k):
            xb, yb = xtr[idx[j]], ytr[idx[j]]  # (E, B, ...)
            loss = _loss(model(xb), yb, task)
            model.zero_grad(set_to_none=False)
            loss.sum().backward()
            opt.step(active)
        step += k

        val_loss, _ = evaluate(model, xva, yva, task, spec.eval_batch)
        bad = ~torch.isfinite(val_loss) | (val_loss > BLOWUP * initial_val) | ~torch.isfinite(loss.detach())
        diverged |= bad & active.bool()
        improved = (val_loss < best_val) & active.bool() & ~bad
        with torch.no_grad():
            for saved, p in zip(best_state, model.parameters()):
                mask = improved.view((-1,) + (1,) * (p.dim() - 1))
                saved.copy_(torch.where(mask, p, saved))
        best_val = torch.where(improved, val_loss, best_val)
        best_step = torch.where(improved, torch.full_like(best_step, step), best_step)
        since_best = torch.where(improved, torch.zeros_like(since_best), since_best + 1)
        active = active * (~bad & (since_best < spec.patience)).float()

    with torch.no_grad():
        for saved, p in zip(best_state, model.parameters()):
            p.copy_(saved)
    m = min(n, spec.train_eval_size)
    tr_loss, tr_metric = evaluate(model, xtr[:m], ytr[:m], task, spec.eval_batch, metric)
    va_loss, va_metric = evaluate(model, xva, yva, task, spec.eval_batch, metric)
    te_loss, te_metric = evaluate(model, xte, yte, task, spec.eval_batch, metric)
    wall = time.perf_counter() - start

    cols = {
        "train_loss": tr_loss, "train_metric": tr_metric,
        "val_loss": va_loss, "val_metric": va_metric,
        "test_loss": te_loss, "test_metric": te_metric,
        "best_step": best_step, "diverged": diverged,
    }  # fmt: skip
    cols = {k: v.cpu().numpy() for k, v in cols.items()}
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
                "wall_time_s": wall,
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
