"""The small-data region of a learning curve (Hestness et al. 2017), decided by a test.

At the smallest shards a model stays near the best-guess error (the target variance for
regression, 1 - 1/K for K classes), so those points sit below the backward extrapolation of the
power law. A shard is put in the small-data region only when both hold:

- it is near the best guess: its error is at least NEAR_BEST_GUESS x the best-guess error.
  Rosenfeld et al.'s envelope eps0 * t / sqrt(t^2 + eps0^2) bends a curve by more than 5% only
  above about 0.3 eps0; further below, a dip is noise or a bend of another kind, not this region;
- the model comparison prefers leaving it out: "the plain law through the larger shards, and a
  free value for each shard left out" against "the plain law through them all too", scored by
  the residual sum of squares in units of the points' variance (from their seeds) plus a
  penalty of Z_SMALL_DATA^2 per free value, i.e. each shard left out must improve the fit by
  more than a 2.5-sigma deviation would (a clean shard does so by chance 1.2% of the time). This
  weighs each point by its noise instead of a fixed 10% margin; the shards left out must also
  lie below the law's backward extrapolation, as the region does.

The decision is redone inside every bootstrap replicate (PowerLaw._fit), so the CIs include it.
"""

from __future__ import annotations

import numpy as np

NEAR_BEST_GUESS = 0.3
Z_SMALL_DATA = 2.5  # a shard left out must improve the chi-square by more than 6.25
MIN_REST = 5  # points the larger shards must keep (3 parameters + 2), so that a misfit is visible


def small_data_start(fit_plain, x: np.ndarray, y: np.ndarray, best_guess: float, point_var) -> float:
    """The smallest shard of the power-law region. `fit_plain(x, y, start)` returns the plain law
    (no regions) fitted to (x, y), warm-started from the fitted law `start` unless it is None;
    `point_var` is the variance of log(y) of a point from its seeds: one for all, or one per row
    of x when the fit weighs each point by its own error (weights.py).

    Model k leaves out the k smallest shards (each gets a free value of its own) and fits the
    plain law to the rest; k runs over the shards near the best guess (keeping MIN_REST points).
    Each model is scored by its residual sum of squares in units of the point variance, plus
    Z_SMALL_DATA^2 per shard left out; the best score wins. The point variance is the seeds'
    share, or, if the residuals spread more (shard-level noise, misfit), that variance: each
    point's variance is scaled by the chi-square per degree of freedom of the model that leaves
    out the most shards, if above 1."""
    shards = np.unique(x[:, 0])
    mean = np.array([y[x[:, 0] == s].mean() for s in shards])
    near = 0
    while near < len(shards) - 1 and mean[near] >= NEAR_BEST_GUESS * best_guess:
        near += 1
    while near > 0 and (x[:, 0] >= shards[near]).sum() < MIN_REST:
        near -= 1
    if near == 0:
        return float(shards[0])
    var = np.broadcast_to(np.asarray(point_var, float), y.shape)
    known = bool((var > 0).all())
    if not known:  # no seed noise known: the residuals alone set the scale
        var = np.ones_like(y)
    chi2, below, law = [], [], None
    for k in range(near + 1):
        rest = x[:, 0] >= shards[k]
        law = fit_plain(x[rest], y[rest], law)  # each fit starts from the previous one
        res = np.log(law._f(x[rest], law.params_)) - np.log(y[rest])
        chi2.append(float((res**2 / var[rest]).sum()))
        gaps = np.log(law._f(shards[:k, None], law.params_)) - np.log(mean[:k])
        below.append(k == 0 or gaps.mean() > 0)  # the region lies below the extrapolation
    dof = (x[:, 0] >= shards[near]).sum() - len(law.free)
    scale = chi2[-1] / max(dof, 1) if not known else max(1.0, chi2[-1] / max(dof, 1))
    score = [c / scale + Z_SMALL_DATA**2 * k if ok else np.inf for k, (c, ok) in enumerate(zip(chi2, below))]
    return float(shards[int(np.argmin(score))])
