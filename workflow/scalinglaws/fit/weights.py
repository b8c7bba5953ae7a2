"""Weights for the fits: each point's standard error from its seeds, moderated.

A point measured with k >= 2 seeds has a standard error of its mean; a fit in log units weighs
its residual by the relative standard error se / mean (the delta method: the standard deviation
of log(mean)). With k = 3 seeds a point's own variance has only 2 degrees of freedom, so taken
raw its weight would be mostly noise (the inverse of a chi-square with 2 degrees of freedom has
no finite mean) and a point whose seeds happen to agree would pull the fit through itself. Each
point's variance is therefore moderated as in Smyth (2004, limma's empirical Bayes): a prior
variance s0^2 with d0 degrees of freedom is estimated from the spread of all points' log
variances, and the point's variance becomes (d0 s0^2 + d s^2) / (d0 + d). Both come from the
data, with no tuned constant:
- when the points' variances differ no more than sampling alone makes them differ, d0 is
  infinite and every point gets the pooled variance: the fit is the unweighted one;
- when one point's seeds spread far more than the others', d0 is small and that point is
  weighed down by its own error;
- a point whose seeds agree exactly (se = 0) gets d0 s0^2 / (d0 + d): the prior is its floor;
  points without seed error (one run) get s0^2, the typical variance.
With one run per point everywhere there is no seed error and the fit stays unweighted (None).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import digamma, polygamma

MIN_POINTS = 3  # points with seed errors needed to estimate the prior's spread


def trigamma(x):
    return polygamma(1, x)


def trigamma_inverse(y: float) -> float:
    """x with trigamma(x) = y (Smyth 2004's Newton iteration, on 1/x)."""
    x = 0.5 + 1.0 / y
    for _ in range(50):
        step = trigamma(x) * (1 - trigamma(x) / y) / polygamma(2, x)
        x += step
        if -step / x < 1e-8:
            break
    return float(x)


def prior(s2: np.ndarray, dof: np.ndarray) -> tuple[float, float]:
    """(s0^2, d0) from sample variances s2 with dof degrees of freedom (all > 0): the method of
    moments on log(s2), whose variance is trigamma(d/2) from sampling plus trigamma(d0/2) from
    real differences between the points' variances (d0 = inf: none beyond sampling)."""
    e = np.log(s2) - digamma(dof / 2) + np.log(dof / 2)
    e_bar = float(e.mean())
    excess = float(np.mean((e - e_bar) ** 2 * len(e) / (len(e) - 1) - trigamma(dof / 2)))
    if excess <= 0:
        return float(np.exp(e_bar)), np.inf
    d0 = 2 * trigamma_inverse(excess)
    return float(np.exp(e_bar + digamma(d0 / 2) - np.log(d0 / 2))), d0


def moderated(s2: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """Each variance moderated toward the prior; dof 0 (no seed error) gives the prior s0^2.
    Variances of exactly 0 carry no information about the spread and are left out of it."""
    informative = (dof > 0) & (s2 > 0)
    if informative.sum() < MIN_POINTS:
        pooled = float((s2 * dof).sum() / dof.sum())
        return np.full(len(s2), pooled)
    s0, d0 = prior(s2[informative], dof[informative])
    if np.isinf(d0):
        return np.full(len(s2), s0)
    return (d0 * s0 + dof * s2) / (d0 + dof)


def seed_variances(cube: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For [point, run] values (NaN: missing): each point's sample variance of its runs relative
    to their mean, its degrees of freedom (runs - 1) and its runs."""
    ok = np.isfinite(cube) & (cube > 0)
    k = ok.sum(axis=1)
    values = np.where(ok, cube, np.nan)
    with np.errstate(all="ignore"):
        rel = values / np.nanmean(values, axis=1, keepdims=True)
    dof = np.maximum(k - 1, 0).astype(float)
    s2 = np.where(dof > 0, np.nansum((rel - 1.0) ** 2, axis=1) / np.maximum(dof, 1), 0.0)
    return s2, dof, k


def _standard_errors(s2: np.ndarray, dof: np.ndarray, k: np.ndarray) -> np.ndarray | None:
    var = moderated(s2, dof)
    return np.sqrt(var / np.maximum(k, 1)) if (var > 0).all() else None  # every seed alike: nothing to weigh by


def relative_errors(cube: np.ndarray) -> np.ndarray | None:
    """For [point, run] values (NaN: missing), each point's moderated relative standard error
    of its mean, se / mean: the standard deviation of the log of the point, which a log fit
    weighs by. None when no point has two runs (nothing to weigh by)."""
    s2, dof, k = seed_variances(cube)
    return None if k.max() < 2 else _standard_errors(s2, dof, k)


def error_draws(cube: np.ndarray, replicates: int, seed: int) -> list[np.ndarray | None]:
    """relative_errors as a bootstrap replicate has them: each point's variance drawn from its
    sampling distribution (moderated variance x chi-square(dof) / dof, as new seeds would give
    it) and moderated again, so that the replicates carry the noise of the weights. (Redrawing
    the seeds themselves would not: 3 seeds drawn with replacement are all the same one a ninth
    of the time, a zero variance that real seeds never show.)"""
    s2, dof, k = seed_variances(cube)
    if k.max() < 2 or _standard_errors(s2, dof, k) is None:
        return [None] * replicates
    var = moderated(s2, dof)
    rng = np.random.default_rng([seed, 4])
    draws = rng.chisquare(np.maximum(dof, 1), (replicates, len(dof))) / np.maximum(dof, 1)
    return [_standard_errors(np.where(dof > 0, var * d, 0.0), dof, k) for d in draws]


def runs_cube(index: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Runs given as (point index of each run, value) as a [point, run] cube (NaN: no run)."""
    counts = np.bincount(index)
    cube = np.full((len(counts), counts.max()), np.nan)
    slot = np.zeros(len(counts), int)
    for i, v in zip(index, y):
        cube[i, slot[i]] = v
        slot[i] += 1
    return cube


def with_error_draws(replicates, cube: np.ndarray, count: int, seed: int):
    """(x, y) replicates as (x, y, sd): each with its draw of the points' errors (error_draws)."""
    for (x, y), sd in zip(replicates, error_draws(cube, count, seed)):
        yield x, y, sd


def between_points_variance(resid: np.ndarray, se: np.ndarray, dof: int) -> float:
    """Paule and Mandel's (1982) estimate of the variance tau^2 that every point has beyond its
    seeds' (its training set, a misfit): the tau^2 >= 0 at which the chi-square
    sum(resid^2 / (se^2 + tau^2)) equals its degrees of freedom."""

    def excess(tau2):
        return float((resid**2 / (se**2 + tau2)).sum()) - dof

    if dof < 1 or excess(0.0) <= 0:
        return 0.0
    return float(brentq(excess, 0.0, float((resid**2).sum()) / dof, xtol=1e-14))


def weigh_with_shared_noise(law, x: np.ndarray, y: np.ndarray, rounds: int = 2):
    """Fit `law`, weighed by its points' seed errors, then by their seed errors plus the variance
    they share beyond them (between_points_variance): what a point's deviation from the curve
    really has (the seeds' error alone would let a point whose seeds agree pull the curve through
    its shard-level noise). The refit and the estimate alternate `rounds` times. The law keeps
    these total errors, so its replicates and backtests weigh by them."""
    law.fit(x, y)
    if law.point_sd is None:
        return law
    keys, se = list(law.seed_sd), np.array(list(law.seed_sd.values()))
    for _ in range(rounds):
        rows = law.fitted_rows(x)
        resid = law._residuals(law.predict(x[rows]), y[rows])
        seed = law.point_errors(x, relative=False, seeds_only=True)
        tau2 = between_points_variance(resid, seed[rows], int(rows.sum()) - len(law.free))
        if tau2 <= 0:
            break
        law.weigh(np.array(keys), se, tau2)
        law.fit(x, y)
    return law
