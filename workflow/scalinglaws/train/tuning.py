"""Learning-rate search inside one job: the grid, then beyond its edge while the best is there.

Hestness et al. tune hyper-parameters per shard, because a point whose best learning rate sits
on the edge of the grid may be short of what its model can do. With `lr_bounds` set, a job whose
best learning rate (lowest mean validation loss over seeds; diverged members count as worst) is
the lowest or highest tried trains one more ensemble at that rate divided or multiplied by
`lr_factor`, and repeats until the best is interior or the next rate would leave the bounds.
"Best" is judged as the learning curve judges it (aggregate/selection.py): on the validation
metric (an error rate for classifiers, where the loss can disagree).
The decision depends only on the job's own numbers, so it is part of the job: the DAG, the cache
and `snakemake -n` see one job, and every run keeps its `lr_round` (0: the grid).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from .spec import EnsembleJob, TrainOptions
from .trainer import train_ensemble


def train_with_lr_search(job: EnsembleJob, data, device: str, options: TrainOptions) -> list[dict]:
    """Every run of the grid and of the rates added beyond its edges."""
    runs = [{**r, "lr_round": 0} for r in train_ensemble(job, data, device, options)]
    for round_ in range(1, 100):
        lr = next_learning_rate(runs, job.train.lr_factor, job.train.lr_bounds)
        if lr is None:
            return runs
        extra = dataclasses.replace(job, train=dataclasses.replace(job.train, learning_rates=[lr]))
        checkpoint = Path(options.checkpoint).with_name(f"checkpoint.lr{round_}.pt") if options.checkpoint else None
        round_options = dataclasses.replace(options, checkpoint=checkpoint, timing=None)
        runs += [{**r, "lr_round": round_} for r in train_ensemble(extra, data, device, round_options)]
    return runs


def mean_val_by_lr(runs: list[dict]) -> dict[float, float]:
    """Mean validation metric over seeds per learning rate; inf where any member diverged."""
    out: dict[float, list[float]] = {}
    for r in runs:
        bad = r["diverged"] or r["val_metric"] is None or not math.isfinite(r["val_metric"])
        out.setdefault(r["lr"], []).append(math.inf if bad else r["val_metric"])
    return {lr: sum(v) / len(v) for lr, v in out.items()}


def next_learning_rate(runs: list[dict], factor: float, bounds: list[float] | None) -> float | None:
    """The rate beyond the grid's edge where the best rate sits, or None (interior, or out of bounds)."""
    if not bounds:
        return None
    by_lr = mean_val_by_lr(runs)
    best = min(by_lr, key=by_lr.get)
    lo, hi = min(by_lr), max(by_lr)
    if best == lo and lo / factor >= bounds[0] * (1 - 1e-9):
        return _tidy(lo / factor)
    if best == hi and hi * factor <= bounds[1] * (1 + 1e-9):
        return _tidy(hi * factor)
    return None


def _tidy(lr: float) -> float:
    """0.001, not 0.0009999999999999998: the rate is a table value and part of identities."""
    return float(f"{lr:.12g}")
