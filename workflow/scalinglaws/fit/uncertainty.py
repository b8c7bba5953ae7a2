"""Bootstrap uncertainty for a fitted law: percentile CIs, parameter correlations, bands.

How replicates are drawn: resample_runs (runs within each point, for tables) and
resample_seeds (seeds within each shard, model selection redone, for studies).

Two levels of noise move a measured point (in log units): its seeds (the runs it averages), and
what all seeds of a shard share, the training set itself (plus whatever the law misses). Seeds
are redrawn within each point, with the small-sample correction sqrt(k/(k-1)); the shared part
cannot be redrawn (there is one training set per shard), so its variance is estimated from the
fit, as the residual variance beyond what the seeds explain (`Noise`), and every replicate adds
a fresh draw of it to every point. Only when every point is a single run are the points
themselves resampled, which carries both levels at once. Each replicate is refitted from the
original estimate (one warm start). Everything is reproducible from the seed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from .laws import FitError, Law, batched

CI_LEVEL = 0.95


def finite_or_none(v: float) -> float | None:
    """JSON has no infinity: an infinite bound or value is written as null."""
    return float(v) if np.isfinite(v) else None


def derived_interval(values: np.ndarray) -> list[float | None] | None:
    """Like a percentile interval, but an infinite end (e.g. no irreducible region) stays open:
    also an end that falls between the last finite value and an infinite one (interpolating
    toward the clipped infinity gave ends like 5e299)."""
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return None
    lo, hi = np.percentile(np.clip(values, -1e300, 1e300), [(1 - CI_LEVEL) / 2 * 100, (1 + CI_LEVEL) / 2 * 100])
    finite = values[np.isfinite(values)]
    low_open, high_open = (True, True) if not len(finite) else (lo < finite.min(), hi > finite.max())
    return [None if low_open else finite_or_none(lo), None if high_open else finite_or_none(hi)]


@dataclass
class Bootstrap:
    names: list[str]
    samples: np.ndarray  # (replicates that fitted, parameters); bands are drawn from them (intervals.py)
    failed: int  # replicates whose refit failed (left out)
    log_params: frozenset[str]

    def intervals(self, level: float = CI_LEVEL) -> dict[str, list[float] | None]:
        return {
            p: percentile_interval(self.samples[:, i], level) if len(self.samples) else None
            for i, p in enumerate(self.names)
        }

    def correlations(self) -> dict | None:
        """Pearson correlations of the estimates, scale parameters taken as logs (where they
        are roughly normal); parameters that never vary (fixed) are left out."""
        if len(self.samples) < 3:
            return None
        cols, names = [], []
        for i, p in enumerate(self.names):
            s = self.samples[:, i]
            s = np.log(s) if p in self.log_params and (s > 0).all() else s
            if np.isfinite(s).all() and s.std() > 0:
                cols.append(s)
                names.append(f"log {p}" if p in self.log_params else p)
        if len(cols) < 2:
            return None
        return {"params": names, "matrix": np.round(np.corrcoef(cols), 4).tolist()}


def percentile_interval(samples: np.ndarray, level: float = CI_LEVEL) -> list[float] | None:
    samples = samples[np.isfinite(samples)]
    if len(samples) < 2:
        return None
    half = (1 - level) / 2 * 100
    return [float(np.percentile(samples, half)), float(np.percentile(samples, 100 - half))]


@dataclass
class Replicates:
    """Resampled data sets for a bootstrap: the draws (x, y), what was resampled (for the
    report) and the seed they came from."""

    draws: Iterable
    what: str
    seed: int


@dataclass
class Noise:
    """The noise of the fitted points in log units, from their runs (seeds).

    run_var: variance of log(error) of one run around its point's mean, pooled over points (None
    when every point is one run); runs: runs per point (mean). After a fit, `shared_var` is the
    residual variance not explained by seeds: the shard-level (training set) noise and misfit."""

    run_var: float | None = None
    runs: float = 1.0
    resid_var: float = float("nan")  # residual variance of the fit, per degree of freedom
    dof: int = 0  # its degrees of freedom (points - free parameters)

    @property
    def point_var(self) -> float:
        """Variance of a point's mean that its seeds explain."""
        return 0.0 if self.run_var is None else self.run_var / self.runs

    @property
    def shared_var(self) -> float:
        return max(self.resid_var - self.point_var, 0.0) if np.isfinite(self.resid_var) else 0.0

    @property
    def new_run_var(self) -> float:
        """Variance of log(error) of a new run (new training set and seed) around the mean curve."""
        return self.shared_var + (self.run_var or 0.0)

    @property
    def draws_shared(self) -> bool:
        """Whether the bootstrap adds shard-level noise: the seeds' share is known and the
        residuals have a degree of freedom to estimate the rest from."""
        return self.run_var is not None and self.dof >= 1 and bool(np.isfinite(self.resid_var))

    def with_fit(self, law: Law, x, y) -> "Noise":
        """This noise with the residual variance of `law` fitted to (x, y)."""
        good = law.goodness(x, y)
        dof = good["points"] - len(law.free)
        resid = good["rmse_log"] ** 2 * good["points"] / dof if dof > 0 else float("nan")
        return Noise(self.run_var, self.runs, resid, max(dof, 0))

    def to_json(self) -> dict:
        return {
            "run_var": self.run_var,
            "runs": self.runs,
            "resid_var": finite_or_none(self.resid_var),
            "dof": self.dof,
            "shared_var": self.shared_var,
            "new_run_var": self.new_run_var,
        }

    @classmethod
    def from_json(cls, d: dict) -> "Noise":
        resid = d["resid_var"]
        return cls(d["run_var"], d["runs"], float("nan") if resid is None else resid, d["dof"])


def shared_draws(noise: Noise | None, replicates: int, seed: int) -> np.ndarray:
    """Per replicate, a standard deviation of the shard-level noise to add: the residual
    variance scaled by dof / chi2(dof), less the seeds' share, so that its own uncertainty (few
    points) is carried. An estimate of 0 (residuals no wider than the seeds explain, 29% of clean
    7-shard curves) does not switch this off: the draws still reach the variances that so few
    residuals cannot rule out."""
    if noise is None or not noise.draws_shared:
        return np.zeros(replicates)
    rng = np.random.default_rng([seed, 1])
    resid = noise.resid_var * noise.dof / rng.chisquare(noise.dof, replicates)
    return np.sqrt(np.maximum(resid - noise.point_var, 0.0))


def bootstrap(
    law: Law, replicates: Iterable[tuple[np.ndarray, np.ndarray]], shared_sd=None, seed: int = 0
) -> Bootstrap:
    """Refit the fitted `law` on every replicate (x, y), or (x, y, sd) where the replicate
    brings its points' own seed errors (weights.py) to weigh them by. `shared_sd`
    (one per replicate) adds that much independent log-normal noise to every point of it.
    A law whose refits can run as one batch refits them so (laws/batched.py); the rest, and
    any replicate the batch hands back, are refitted one at a time."""
    rng = np.random.default_rng([seed, 2])
    draws = []
    for i, (x, y, *sd) in enumerate(replicates):
        if shared_sd is not None and shared_sd[i] > 0:
            y = y * np.exp(shared_sd[i] * rng.standard_normal(len(y)))
        draws.append((x, y, sd[0] if sd else None))
    rows = batched.refit_rows(law, draws) if law.refits_batched() else [None] * len(draws)
    samples, failed = [], 0
    for (x, y, sd), row in zip(draws, rows):
        if row is None:
            try:
                b = law.refit(x, y, sd)
            except FitError:
                failed += 1
                continue
            row = [b.params_[p] for p in law.param_names]
        samples.append(row)
    samples = np.array(samples, float).reshape(-1, len(law.param_names))
    return Bootstrap(list(law.param_names), samples, failed, law.log_params)


def collapse_runs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points from runs: the distinct rows of x, the mean y of each, and each run's point index."""
    x = np.asarray(x, float).reshape(len(y), -1)
    points, index = np.unique(x, axis=0, return_inverse=True)
    index = index.ravel()
    means = np.bincount(index, weights=y) / np.bincount(index)
    return points, means, index


def runs_noise(x, y) -> Noise:
    """The seed noise of points made of several runs (rows sharing x): the variance of log(y)
    within a point, pooled over the points that have at least two runs."""
    y = np.asarray(y, float)
    _, _, index = collapse_runs(x, y)
    counts = np.bincount(index)
    if counts.max() < 2:
        return Noise()
    logs = np.log(y)
    means = np.bincount(index, weights=logs) / counts
    ss = np.bincount(index, weights=(logs - means[index]) ** 2)
    many = counts > 1
    return Noise(float(ss[many].sum() / (counts[many] - 1).sum()), float(counts.mean()))


def resample_runs(x, y, replicates: int, seed: int) -> tuple[str, Iterator[tuple[np.ndarray, np.ndarray]]]:
    """Replicates (points, mean y) that redraw the runs of every point with replacement; if no
    point has more than one run, the points are redrawn instead. Returns (what, replicates).

    The mean of k redrawn runs varies (k-1)/k times as much as the mean of k new runs would, so
    its deviation from the point's mean is scaled by sqrt(k/(k-1)). (Over 300 synthetic power-law
    studies with 10 seeds per shard, 95% intervals from 100 replicates covered the truth 89% of
    the time without this, 90-91% with it; tests/test_uncertainty.py checks the coverage.)"""
    y = np.asarray(y, float)
    points, means, index = collapse_runs(x, y)
    runs_of = [np.flatnonzero(index == i) for i in range(len(points))]
    if max(len(r) for r in runs_of) > 1:
        what = "runs within each point (variance-corrected)"
        k = np.array([len(r) for r in runs_of], float)
        inflate = np.sqrt(k / np.maximum(k - 1, 1))

        def draw(rng):
            redrawn = np.array([y[rng.choice(r, len(r))].mean() for r in runs_of])
            return points, means + inflate * (redrawn - means)

    else:
        what = "points"
        ys = y[np.concatenate(runs_of)]

        def draw(rng):
            pick = rng.integers(0, len(points), len(points))
            return points[pick], ys[pick]

    def generate():
        rng = np.random.default_rng(seed)
        for _ in range(replicates):
            yield draw(rng)

    return what, generate()


def widen(cube: np.ndarray) -> np.ndarray:
    """Each run's deviation from its (shard, config)'s geometric mean, in log units, scaled by
    sqrt(k/(k-1)): then redrawn means vary as much as means of k new seeds would."""
    k = np.isfinite(cube).sum(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells: missing runs stay missing
        logs = np.log(cube)
        centre = np.nanmean(logs, axis=2, keepdims=True)
        wide = np.exp(centre + np.sqrt(k / np.maximum(k - 1, 1)) * (logs - centre))
    return np.where(np.isfinite(wide), wide, cube)  # a zero error (log -inf) is left as it is


def resample_seeds(val: np.ndarray, target: np.ndarray, replicates: int, seed: int):
    """Yield (val, target) cubes [shard, config, seed] with every shard's seeds redrawn (the
    same draw for every config of a shard, so that a replicate is a set of whole runs), each
    run's deviation widened by the small-sample correction (`widen`)."""
    rng = np.random.default_rng(seed)
    n_seeds = val.shape[2]
    val, target = widen(val), widen(target)
    for _ in range(replicates):
        pick = rng.integers(0, n_seeds, size=(val.shape[0], n_seeds))
        index = pick[:, None, :].repeat(val.shape[1], 1)
        yield np.take_along_axis(val, index, 2), np.take_along_axis(target, index, 2)
