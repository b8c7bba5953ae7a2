"""Warm-started refits of many bootstrap replicates at once (the bootstrap's fast path).

A bootstrap refits a law to a few hundred resampled data sets, each from the fit's estimate. One
at a time, scipy's least_squares spends most of each refit in its own per-iteration overhead
(the problems have 3-6 parameters and a dozen points). Here every replicate is one row of a
batch, and a projected Levenberg-Marquardt iteration runs on all rows together in numpy: the
law's `_f` and `_grad` take each parameter as an array of shape (replicates, 1) (a law says it
can by `batched = True`).

The objective is minimizer.py's, row by row: the law's residuals at its points, weighed as
`Law.refit` weighs them, in the same packed coordinates (scale parameters as logarithms) and
the same box. A replicate that resamples points is the same sum of squares over the distinct
points, each weighed by how often it was drawn. A parameter at a bound whose gradient points
out of the box is held there for the step (the projected step of a bound-constrained Newton
method). A row stops when a step lowers its cost by less than FTOL of it or moves it by less
than XTOL, as scipy's defaults do, or after REFIT_NFEV steps, where a one-at-a-time refit
stops too (along a flat valley of m4's or bnsl's both stop short of the minimum; neither is
better than the other in cost). A row whose data `Law.refit_problem` refuses is handed back
(None) to be refitted one at a time, which reports the failure. The residuals, their Jacobian
and the box are minimizer.py's own functions, applied to all rows at once.
"""

from __future__ import annotations

import numpy as np

from .base import Law, quiet, single_threaded
from .minimizer import REFIT_NFEV, FitError, pack, packed_box, packed_jacobian, unpack, weighed_residuals

FTOL = XTOL = 1e-8  # scipy least_squares' defaults


class Batch:
    """The replicates as rows over the distinct x of them all: y (rows, points), the square
    root of each point's summed squared weight (0 where a row lacks the point), and each
    row's box in packed coordinates."""

    def __init__(self, law: Law, draws: list[tuple]):
        rows = []  # (draw index, {x row: (y, weight^2)}, lo, hi)
        for i, (x, y, sd) in enumerate(draws):
            row = _row(law, x, y, sd)
            if row is not None:
                rows.append((i, *row))
        self.index = [r[0] for r in rows]
        keys = sorted({key for r in rows for key in r[1]})
        column = {key: j for j, key in enumerate(keys)}
        self.x = np.array(keys, float).reshape(len(keys), -1)
        self.y = np.ones((len(rows), len(keys)))
        self.weight = np.zeros((len(rows), len(keys)))
        for b, (_, points, _, _) in enumerate(rows):
            for key, (y, w2) in points.items():
                self.y[b, column[key]], self.weight[b, column[key]] = y, w2
        self.weight = np.sqrt(self.weight)
        self.lo = np.array([r[2] for r in rows]).reshape(len(rows), -1)
        self.hi = np.array([r[3] for r in rows]).reshape(len(rows), -1)


def _row(law: Law, x, y, sd):
    """A replicate's points {x row: (y, summed squared weight)} and its box, or None where it
    must be refitted one at a time (data the law refuses, one x with two different y)."""
    try:
        clone, x, y = law.refit_problem(x, y, sd)
    except FitError:
        return None
    weight = np.ones(len(y)) if clone.point_sd is None else 1.0 / clone.point_errors(x)
    points: dict[tuple, tuple[float, float]] = {}
    for key, yi, wi in zip(map(tuple, x.tolist()), y.tolist(), weight.tolist()):
        if key in points and points[key][0] != yi:
            return None
        points[key] = (yi, points.get(key, (yi, 0.0))[1] + wi * wi)
    return (points, *packed_box(clone, x, y))


def unpack_rows(law: Law, theta: np.ndarray) -> dict:
    """Packed rows (replicates, free parameters) as named parameters of shape (replicates, 1);
    a fixed parameter stays a number."""
    params = dict(law.fixed)
    for j, p in enumerate(law.free):
        column = theta[:, j : j + 1]
        params[p] = np.exp(column) if p in law.log_params else column
    return params


class Objective:
    """The weighed residuals and their Jacobian for some rows of the batch at once (a row
    that lacks a point has a residual of 0 there)."""

    def __init__(self, law: Law, batch: Batch):
        self.law, self.batch = law, batch

    def residuals(self, theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(prediction, residuals), each (rows, points), at `theta` (one row per batch row in `rows`)."""
        y, weight = self.batch.y[rows], self.batch.weight[rows]
        pred = np.broadcast_to(self.law._f(self.batch.x, unpack_rows(self.law, theta)), y.shape)
        return pred, np.where(weight > 0, weighed_residuals(self.law, pred, y, weight), 0.0)

    def jacobian(self, theta: np.ndarray, rows: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """(rows, points, free parameters) at `theta`, where the prediction is `pred`."""
        b = self.batch
        return packed_jacobian(self.law, b.x, unpack_rows(self.law, theta), pred, b.y[rows], b.weight[rows])


def levenberg_marquardt(objective: Objective, theta: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Projected Levenberg-Marquardt on every row, with Nielsen's damping update (1999). A row
    stops as scipy's trf does: a good step (gain ratio above 0.25) that lowers the cost by less
    than FTOL of it, or a step shorter than XTOL; or it is left where REFIT_NFEV steps took it."""
    rows, k = theta.shape
    pred, r = objective.residuals(theta, np.arange(rows))
    pred = np.array(pred)  # rows are replaced where a step is accepted
    cost = 0.5 * (r * r).sum(axis=1)
    damping, growth = np.full(rows, 1e-3), np.full(rows, 2.0)
    done = ~np.isfinite(cost)
    eye = np.eye(k)
    jacobian = np.zeros((rows, r.shape[1], k))
    fresh = np.ones(rows, bool)  # the row moved: its Jacobian is to be computed again
    for _ in range(REFIT_NFEV):
        act = np.flatnonzero(~done)
        if not len(act):
            break
        renew = act[fresh[act]]
        if len(renew):
            jacobian[renew] = objective.jacobian(theta[renew], renew, pred[renew])
            fresh[renew] = False
        t, jac = theta[act], jacobian[act]
        grad = np.einsum("bui,bu->bi", jac, r[act])
        hess = np.einsum("bui,buj->bij", jac, jac)
        # a parameter at a bound that the descent direction pushes out of the box is held there
        free = ~(((t <= lo[act]) & (grad > 0)) | ((t >= hi[act]) & (grad < 0)))
        scale = np.maximum(np.einsum("bii->bi", hess), 1e-12 * np.abs(hess).max(axis=(1, 2))[:, None] + 1e-300)
        system = hess + damping[act, None, None] * scale[:, :, None] * eye
        system = np.where(free[:, :, None] & free[:, None, :], system, eye)
        trial = np.clip(t + _solve(system, np.where(free, -grad, 0.0)), lo[act], hi[act])
        moved = trial - t
        pred_trial, r_trial = objective.residuals(trial, act)
        cost_trial = 0.5 * (r_trial * r_trial).sum(axis=1)
        gain = cost[act] - cost_trial
        predicted = -(np.einsum("bi,bi->b", grad, moved) + 0.5 * np.einsum("bi,bij,bj->b", moved, hess, moved))
        ratio = np.where(predicted > 0, gain / np.where(predicted > 0, predicted, 1.0), -1.0)
        better = np.isfinite(cost_trial) & (gain > 0)
        small_step = np.linalg.norm(moved, axis=1) <= XTOL * (XTOL + np.linalg.norm(t, axis=1))
        small_gain = better & (gain <= FTOL * cost[act]) & (ratio > 0.25)
        accept = act[better]
        theta[accept], pred[accept], r[accept], cost[accept] = (
            trial[better],
            pred_trial[better],
            r_trial[better],
            cost_trial[better],
        )
        fresh[accept] = True
        shrink = np.maximum(1.0 / 3.0, 1.0 - (2.0 * np.clip(ratio, 0.0, 1.0) - 1.0) ** 3)
        damping[act] = np.where(better, damping[act] * shrink, damping[act] * growth[act])
        growth[act] = np.where(better, 2.0, growth[act] * 2.0)
        done[act[small_step | small_gain | (cost[act] <= 1e-30) | (damping[act] > 1e30)]] = True
    return theta


def _solve(system: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """The damped normal equations of every row (a singular one by least squares)."""
    try:
        return np.linalg.solve(system, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.stack([np.linalg.lstsq(s, v, rcond=None)[0] for s, v in zip(system, rhs)])


def refit_rows(law: Law, draws: list[tuple]) -> list[list[float] | None]:
    """Every replicate (x, y, sd or None) refitted from `law`'s estimate: its parameters in
    `law.param_names`' order, or None where it is to be refitted one at a time."""
    out: list[list[float] | None] = [None] * len(draws)
    with single_threaded(), quiet():
        batch = Batch(law, draws)
        if not batch.index:
            return out
        theta = np.clip(np.tile(pack(law, law.params_), (len(batch.index), 1)), batch.lo, batch.hi)
        theta = levenberg_marquardt(Objective(law, batch), theta, batch.lo, batch.hi)
    for i, row in zip(batch.index, theta):
        params = list(unpack(law, row).values())
        out[i] = params if np.isfinite(params).all() else None
    return out
