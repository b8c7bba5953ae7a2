"""The optimiser, apart from the laws (lmfit's Minimizer beside its Model).

A law (base.py) is the model: its function `_f`, its gradient `_grad` (optional), its search box
`_bounds`, its starts `_starts`, its residuals and its points' weights (`point_errors`). This
module fits such a law:

- multi-start bounded least squares (scipy's trf): every start gets a short run, the best is
  polished to convergence (`least_squares_fit`, the laws' default `_fit`);
- positive scale parameters are searched as their logarithms (`pack`, `unpack`);
- a widenable bound that binds is pushed out and the fit redone (`box`, `widening_fit`);
- one rule for "a parameter is at its bound" (`at_bound`), used here for the estimate and by
  identify.py for the ends of its CI, each with its own named tolerance.

It knows laws only by those attributes, so a law with an optimiser of its own (chinchilla's
L-BFGS on a Huber loss, size's closed form) overrides `_fit` and still gets the rest.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
from scipy.optimize import least_squares

from ...errors import UserError

EXPLORE_NFEV = 50  # evaluations each start of a multi-start fit gets before the best is polished
REFIT_NFEV = 200  # a warm-started bootstrap refit that has not converged by then is far from the fit
MAX_WIDEN = 2  # times a binding, widenable bound is pushed out before the parameter is called not identified
# "at its bound": within this fraction of the box's span (a parameter searched as its logarithm:
# within LOG_AT_BOUND of the bound's logarithm)
ESTIMATE_AT_BOUND = 1e-5  # the estimate (what widening and the law's own warnings go by)
CI_AT_BOUND = 1e-3  # an end of its bootstrap CI (identify.py): replicates stop near, not at, the bound
LOG_AT_BOUND = 1e-3

_BLAS = None


class FitError(UserError):
    """The data cannot support the fit (too few points, non-positive values, ...)."""


def single_threaded():
    """Limit BLAS to one thread. The problems here are tiny; on a busy 2-core machine BLAS
    threads only spin, which made one L-BFGS fit 35x slower."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


@contextlib.contextmanager
def quiet():
    """No raw numpy/scipy warnings: overflow in a trial step is handled (penalised or refused),
    and what the user should know is reported as a law's warning or a FitError."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# -- the search box ---------------------------------------------------------------------------
def box(law, x: np.ndarray, y: np.ndarray) -> dict[str, tuple[float, float]]:
    """The search box: the law's bounds, with every widened side pushed out (a linear bound
    by the box's span, doubling it, each time; a log-scale bound by a factor 1e3)."""
    out = dict(law._bounds(x, y))
    for (p, side), times in law.widen_.items():
        lo, hi = out[p]
        if p in law.log_params:
            lo, hi = (lo * 1e-3**times, hi) if side == "lower" else (lo, hi * 1e3**times)
        else:
            span = (hi - lo) * (2**times - 1)
            lo, hi = (lo - span, hi) if side == "lower" else (lo, hi + span)
        out[p] = (lo, hi)
    return out


def at_bound(value: float, bound: float, bounds: tuple[float, float], log: bool, tol: float) -> bool:
    """Whether `value` sits at `bound`, one end of the box `bounds`: within `tol` of the box's
    span (of 1, or of the bound, when the box is infinite), or, for a parameter searched as its
    logarithm (`log`), within LOG_AT_BOUND of the bound's logarithm."""
    if not np.isfinite(bound):
        return False
    if log:
        return bound > 0 and value > 0 and abs(np.log(max(value, 1e-300)) - np.log(bound)) < LOG_AT_BOUND
    lo, hi = bounds
    span = hi - lo if np.isfinite(hi - lo) else max(1.0, abs(bound))
    return abs(value - bound) <= tol * span


def binding(law) -> list[tuple[str, str]]:
    """(param, side) of every free parameter whose estimate sits at a bound of its box."""
    out = []
    for p in law.free:
        bounds = law.bounds_.get(p, (-np.inf, np.inf))
        for side, b in zip(("lower", "upper"), bounds):
            if at_bound(law.params_[p], b, bounds, p in law.log_params, ESTIMATE_AT_BOUND):
                out.append((p, side))
    return out


# -- the coordinates the optimiser sees ---------------------------------------------------------
def pack(law, params: dict) -> np.ndarray:
    """The free parameters as the optimiser's vector (a log-scale one as its logarithm)."""
    out = []
    for p in law.free:
        v = float(params[p])
        if p in law.log_params:
            v = np.log(v) if v > 0 else -np.inf
        out.append(v)
    return np.array(out)


def unpack(law, theta: np.ndarray) -> dict:
    """The optimiser's vector as named parameters, the fixed ones included."""
    if not law.fixed:  # every parameter free, in their order
        return {p: float(np.exp(v)) if p in law.log_params else float(v) for p, v in zip(law.param_names, theta)}
    params = dict(law.fixed)
    for p, v in zip(law.free, theta):
        params[p] = float(np.exp(v)) if p in law.log_params else float(v)
    return {p: params[p] for p in law.param_names}


# -- the objective --------------------------------------------------------------------------------
# Shared by the one-at-a-time fit below and the batched refits (batched.py): `pred` and `y` are
# (points,) here and (replicates, points) there; the law's parameters are numbers or (replicates, 1).
PENALTY = 1e3  # the residual of a point a step made invalid: penalised, not fatal


def packed_box(law, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The search box (box()) in the optimiser's coordinates: (lower, upper)."""
    bounds = box(law, x, y)
    return pack(law, {k: b[0] for k, b in bounds.items()}), pack(law, {k: b[1] for k, b in bounds.items()})


def weighed_residuals(law, pred: np.ndarray, y: np.ndarray, weight) -> np.ndarray:
    """The law's residuals times each point's weight, an invalid one replaced by PENALTY."""
    r = law._residuals(pred, y) * weight
    return np.where(np.isfinite(r), r, PENALTY)


def packed_jacobian(law, x: np.ndarray, p: dict, pred: np.ndarray, y: np.ndarray, weight) -> np.ndarray:
    """d weighed residual / d packed parameter, (..., points, free parameters): the law's
    gradient, times the parameter for one searched as its logarithm (the chain rule)."""
    grad, scale = law._grad(x, p), law._residual_scale(pred, y) * weight
    cols = [np.broadcast_to(grad[q] * (p[q] if q in law.log_params else 1.0), pred.shape) for q in law.free]
    return np.nan_to_num(np.stack(cols, axis=-1) * scale[..., None], nan=0.0, posinf=0.0, neginf=0.0)


# -- fitting ------------------------------------------------------------------------------------
def least_squares_fit(law, x: np.ndarray, y: np.ndarray, init) -> None:
    """Multi-start bounded least squares of the law's weighted residuals, from its starts (or
    from `init`'s estimate, one warm start): sets `bounds_`, `params_` and `cost_`."""
    law.bounds_ = box(law, x, y)
    starts = [init.params_] if init is not None else law._starts(x, y)
    lo, hi = packed_box(law, x, y)

    weight = 1.0 if law.point_sd is None else 1.0 / law.point_errors(x)
    last = {"theta": None, "pred": None}  # the Jacobian is asked where the residuals were just computed

    def predict(theta, p):
        if last["theta"] is not None and np.array_equal(theta, last["theta"]):
            return last["pred"]
        pred = law._f(x, p)
        last["theta"], last["pred"] = np.array(theta, copy=True), pred
        return pred

    def residuals(theta):
        return weighed_residuals(law, predict(theta, unpack(law, theta)), y, weight)

    def jacobian(theta):
        p = unpack(law, theta)
        return packed_jacobian(law, x, p, predict(theta, p), y, weight)

    jac = "2-point" if law._grad is None else jacobian

    def solve(theta0, max_nfev=REFIT_NFEV if init is not None else None):
        try:
            return least_squares(
                residuals, theta0, jac=jac, bounds=(lo, hi), x_scale="jac", method="trf", max_nfev=max_nfev
            )
        except ValueError:
            return None

    # Every start gets a short run; only the best is then run to convergence.
    best = None
    for start in starts:
        short = {} if len(starts) == 1 else {"max_nfev": EXPLORE_NFEV}
        res = solve(np.clip(pack(law, start), lo, hi), **short)
        if res is not None and (best is None or res.cost < best.cost):
            best = res
    if best is None:
        raise FitError("the optimiser failed from every start")
    if len(starts) > 1:
        best = min((best, solve(best.x)), key=lambda r: np.inf if r is None else r.cost)
    law.params_ = unpack(law, best.x)
    law.cost_ = float(best.cost)


def guarded_fit(law, x: np.ndarray, y: np.ndarray, init) -> None:
    """The law's `_fit`, with any numerical failure turned into a FitError that says what failed."""
    try:
        law._fit(x, y, init)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
        raise FitError(f"the fit failed numerically ({type(exc).__name__}: {exc})") from None
    if not np.isfinite(list(law.params_.values())).all():
        raise FitError("the fit found no finite estimate")


def widening_fit(law, x: np.ndarray, y: np.ndarray, init) -> None:
    """Fit; a widenable bound that binds is pushed out and the fit redone from the estimate on
    the wider box, up to MAX_WIDEN times (`law.widen_` counts the times per bound)."""
    law.widen_ = {}
    guarded_fit(law, x, y, init)
    for _ in range(MAX_WIDEN):
        widen = [b for b in binding(law) if b in law.widenable]
        if not widen:
            break
        for b in widen:
            law.widen_[b] = law.widen_.get(b, 0) + 1
        guarded_fit(law, x, y, law)  # from the estimate on the wider box
