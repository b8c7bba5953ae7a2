"""What training costs: FLOPs of one run, the family's size knob for a parameter count, and the
measured throughput that turns FLOPs into device-hours.

The FLOPs of training a model of P parameters on a shard of n examples are 6 P per example
seen (forward and backward, as the trainer records them: models/base.py), and the study's
protocol says how many examples a run sees: batch * steps, the step budget being epochs * n /
batch clipped to [min_steps, max_steps] (train/spec.py). That budget is an upper bound (early
stopping ends most runs sooner). Without the study's config (a fits.json of `scalinglaws fit`)
a run is taken to see `epochs` passes over its n examples (default: one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

FLOPS_PER_PARAM = 6.0  # per example seen: forward (2) and backward (4)


@dataclass
class Protocol:
    """How a run is trained: its step budget on n examples, and runs per job (seeds x lrs)."""

    spec: object | None = None  # the study's TrainSpec; None: `epochs` passes over n
    epochs: float = 1.0
    members: int = 1

    def examples(self, n) -> np.ndarray:
        """Examples one run sees on a shard of n (at least n)."""
        n = np.asarray(n, float)
        if self.spec is None:
            return self.epochs * n
        s = self.spec
        batch = np.minimum(s.batch_size, n)
        steps = np.clip(np.ceil(s.epochs * n / batch), s.min_steps, s.max_steps)
        return np.maximum(batch * steps, n)

    def flops(self, params, n) -> np.ndarray:
        """Training FLOPs of one run of `params` parameters on n examples."""
        return FLOPS_PER_PARAM * np.asarray(params, float) * self.examples(n)

    def describe(self) -> str:
        if self.spec is None:
            return f"6 x params x {self.epochs:g} pass(es) over n (no study config: --epochs)"
        s = self.spec
        return (
            f"6 x params x examples seen, the study's step budget: batch {s.batch_size} x "
            f"clip({s.epochs:g} n / batch, {s.min_steps}, {s.max_steps}) steps, at least n; {self.members} runs "
            "per job (seeds x learning rates)"
        )


@dataclass
class Knob:
    """The family's size knob (width, channels) and its parameter count, from the study's runs.

    Parameter counts are polynomials in the knob (quadratic for MLPs, CNNs and KANs: weights
    between two layers of width w), so the count is fitted as one through the measured sizes:
    c2 w^2 + c1 w with two sizes, plus c0 with three, plus c3 w^3 with four or more (exact
    when the family's count has that form); with one size, proportional to w^2."""

    sizes: tuple[float, ...]
    params: tuple[float, ...]

    @classmethod
    def from_runs(cls, runs: pd.DataFrame) -> "Knob | None":
        pairs = runs[["size", "params"]].drop_duplicates().sort_values("size")
        if len(pairs) < 1:
            return None
        return cls(tuple(pairs["size"].astype(float)), tuple(pairs["params"].astype(float)))

    def _basis(self, knob) -> np.ndarray:
        powers = {1: (2,), 2: (2, 1), 3: (2, 1, 0)}.get(len(self.sizes), (3, 2, 1, 0))
        return np.stack([np.power(np.asarray(knob, float), k) for k in powers], axis=-1)

    def params_of(self, knob) -> np.ndarray:
        """Parameters of a knob value: the measured count, else the fitted polynomial."""
        coef = np.linalg.lstsq(self._basis(self.sizes), np.array(self.params), rcond=None)[0]
        knob = np.asarray(knob, float)
        out = self._basis(knob) @ coef
        for s, p in zip(self.sizes, self.params):
            out = np.where(knob == s, p, out)
        return out

    def knob_of(self, params) -> np.ndarray:
        """The (fractional) knob value with this many parameters (bisection in log knob)."""
        params = np.asarray(params, float)
        lo, hi = np.full(params.shape, -10.0), np.full(params.shape, 60.0)
        for _ in range(100):
            mid = (lo + hi) / 2
            below = self.params_of(np.exp(mid)) < params
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return np.where(np.isfinite(params), np.exp(hi), np.inf)


@dataclass
class Throughput:
    """Training FLOPs per second measured on one device type: the study's jobs of its largest
    model size (small models leave a device idle, so their throughput would overstate the cost)."""

    device: str
    flops_per_s: float
    jobs: int
    params: float

    @classmethod
    def measured(cls, runs: pd.DataFrame) -> list["Throughput"]:
        """One per device type in runs.csv (each job's runs share its wall time)."""
        if runs is None or not {"job_key", "flops", "wall_time_s", "device", "params"} <= set(runs.columns):
            return []
        jobs = runs.groupby("job_key").agg(
            flops=("flops", "sum"),
            wall=("wall_time_s", "first"),
            device=("device", "first"),
            params=("params", "first"),
        )
        jobs = jobs[(jobs["wall"] > 0) & np.isfinite(jobs["flops"])]
        out = []
        for device, grp in jobs.groupby("device"):
            top = grp[grp["params"] == grp["params"].max()]
            out.append(
                cls(str(device), float(top["flops"].sum() / top["wall"].sum()), len(top), float(top["params"].iloc[0]))
            )
        return out

    def hours(self, flops) -> np.ndarray:
        return np.asarray(flops, float) / self.flops_per_s / 3600.0

    def describe(self) -> str:
        return (
            f"{self.flops_per_s:.3g} FLOP/s on {self.device}, measured over the study's {self.jobs} jobs of its "
            f"largest model ({self.params:.4g} parameters)"
        )


def read_runs(results: Path | None) -> pd.DataFrame | None:
    """A study's runs.csv beside its fits (results/<study>/tables/runs.csv), if there is one."""
    if results is None or not (results / "tables" / "runs.csv").is_file():
        return None
    return pd.read_csv(results / "tables" / "runs.csv")
