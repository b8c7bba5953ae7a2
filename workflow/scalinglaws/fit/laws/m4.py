"""Alabdulmohsin, Neyshabur & Zhai 2022 ("Revisiting Neural Scaling Laws in Language and
Vision", NeurIPS): the estimator M4, an implicit learning curve that bends at both ends.

    (eps - eps_inf) / (eps0 - eps)^alpha = beta * x^c,     c < 0, alpha >= 0

eps falls from eps0 (the error at the start, random guessing) toward eps_inf (the irreducible
error). At alpha = 0 it is power plus constant, eps_inf + beta x^c (kept below eps0); alpha > 0
bends the curve toward eps0 at small x, where the excess error saturates. As in the authors'
code, eps0 is fitted (from at or above the largest error) unless given; unlike it, the fit
minimises the squared error of log(eps) like every other law here, not the error of the
equation's logarithm.

eps has no closed form: with b = eps0 - eps_inf and eps = eps_inf + b * sigmoid(s), the
equation reads log sigmoid(s) - alpha log sigmoid(-s) = log beta + c log x - (1 - alpha) log b,
whose left side rises strictly in s (slope sigmoid(-s) + alpha sigmoid(s)) and is concave
(alpha < 1) or convex (alpha > 1), so Newton's method from a bracketed start, falling back to
bisection whenever a step leaves the bracket, finds s to machine precision in a few steps, for
every x at once. The gradient follows by implicit differentiation.
"""

from __future__ import annotations

import itertools

import numpy as np

from . import varpro
from .base import GivenEps0, Law
from .size import SizeLaw

LOG2 = float(np.log(2.0))
S_MAX = 700.0  # |s| beyond this: eps is eps0 or eps_inf to double precision
NEWTON_STEPS = 60  # a cap; the solve stops when every step is below TOL (typically 4-8 steps)
TOL = 1e-13


def _log_sigmoid(s):
    return -np.logaddexp(0.0, -s)


def _sigmoid(s):
    """Relatively accurate also where it is tiny (1 + tanh would cancel there)."""
    return np.exp(_log_sigmoid(s))


def solve_logit(target: np.ndarray, alpha) -> np.ndarray:
    """s with log sigmoid(s) - alpha log sigmoid(-s) = target, elementwise (alpha >= 0).

    With m(s) = s for s < 0 and alpha s for s >= 0, the left side lies within
    [m(s) - log 2, m(s) + alpha log 2], so the root lies in [m^-1(target - alpha log 2),
    m^-1(target + log 2)]; m^-1(target) starts Newton's method there. Where there is no root
    (alpha = 0 and target >= 0: power plus constant above eps0) the bracket closes at S_MAX,
    i.e. eps = eps0, the limit as alpha -> 0+."""
    target = np.asarray(target, float)
    alpha = np.broadcast_to(alpha, target.shape)  # one per element: a batch of fits has one per row
    positive = alpha > 0

    def inverse(v):
        return np.where(v < 0, v, np.where(positive, v / np.where(positive, alpha, 1.0), S_MAX))

    lo = np.clip(inverse(target - alpha * LOG2), -S_MAX, S_MAX)
    hi = np.clip(inverse(target + LOG2), -S_MAX, S_MAX)
    s = np.clip(inverse(target), lo, hi)
    for _ in range(NEWTON_STEPS):
        up = _log_sigmoid(s)  # log sigmoid(s); log sigmoid(-s) = up - s
        g = up - alpha * (up - s) - target
        below = g < 0
        lo, hi = np.where(below, s, lo), np.where(below, hi, s)
        step = s - g / (np.exp(up - s) + alpha * np.exp(up))
        inside = (step >= lo) & (step <= hi)  # False also where the step is not finite
        new = np.where(inside, step, 0.5 * (lo + hi))
        done = np.abs(new - s) <= TOL * (1.0 + np.abs(s))
        s = new
        if done.all():
            break
    return s


class M4Law(GivenEps0, Law):
    """(eps - eps_inf) / (eps0 - eps)^alpha = beta * x^c, solved for eps."""

    name = "m4"
    formula = "(eps - eps_inf) / (eps0 - eps)^alpha = beta * n^c"
    param_names = ("beta", "c", "alpha", "eps_inf", "eps0")
    log_params = frozenset({"beta", "eps0"})
    auto = plannable = batched = True
    size_law = SizeLaw  # a plan pairs it with the size law's fit for the best size at n
    widenable = frozenset({("c", "lower"), ("alpha", "upper")})
    # no floor; no bend toward eps0 (alpha = 0 or eps0 far above the data): power plus constant
    nested_bounds = frozenset({("eps_inf", "lower"), ("alpha", "lower"), ("eps0", "upper")})
    bound_notes = {
        ("c", "upper"): "the curve does not decrease",
        ("c", "lower"): "the curve falls faster than any power law in the search box",
        ("alpha", "lower"): "no bend toward eps0 resolved: power plus constant fits (use power)",
        ("eps_inf", "lower"): "no irreducible error resolved",
        ("eps_inf", "upper"): "the floor is at the smallest error: the curve flattens faster than the law "
        "approaches its floor",
        ("eps0", "lower"): "eps0 reached the largest error",
        ("eps0", "upper"): "no bend toward eps0 resolved (the power law alone fits: use power)",
    }

    def __init__(self, eps0: float | None = None):
        super().__init__(eps0)
        self._cache: tuple | None = None

    def _solve(self, x, p) -> tuple[np.ndarray, float]:
        """(s, b): eps = eps_inf + b * sigmoid(s) at every row of x. The last solve is kept, so
        that the Jacobian at the point the residuals were just computed at costs no second solve."""
        # parameters are numbers, or (rows, 1) arrays for a batch of refits (batched.py)
        key = (
            tuple((np.shape(p[k]), np.asarray(p[k], float).tobytes()) for k in self.param_names),
            x.shape,
            x.tobytes(),
        )
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1], self._cache[2]
        b = p["eps0"] - p["eps_inf"]
        valid = (b > 0) & (p["beta"] > 0) & (p["alpha"] >= 0)
        with np.errstate(all="ignore"):
            target = np.log(p["beta"]) + p["c"] * np.log(x[:, 0]) - (1.0 - p["alpha"]) * np.log(b)
        target = np.where(valid, target, 0.0)
        s = np.where(valid, solve_logit(target, np.where(valid, p["alpha"], 0.0)), np.nan)
        self._cache = (key, s, b)
        return s, b

    def _f(self, x, p):
        s, b = self._solve(x, p)
        return p["eps_inf"] + b * _sigmoid(s)

    def floor(self, params):
        """eps_inf where the curve falls (c < 0); a flat curve (c = 0) stays where it is."""
        return float(params["eps_inf"]) if params["c"] < 0 else float(self._f(np.ones((1, 1)), params)[0])

    def _grad(self, x, p):
        """Implicit differentiation of F = log w - alpha log(b - w) - log beta - c log x = 0,
        w = eps - eps_inf = b sigmoid(s), b - w = b sigmoid(-s): dw/dq = -(dF/dq) / (dF/dw),
        with 1 / (dF/dw) = b sigmoid(s) sigmoid(-s) / (sigmoid(-s) + alpha sigmoid(s))."""
        s, b = self._solve(x, p)
        up, down, alpha = _sigmoid(s), _sigmoid(-s), p["alpha"]
        denom = down + alpha * up
        inv = b * up * down / denom  # 1 / (dF/dw)
        share = alpha * up / denom  # dw/db
        return {
            "beta": inv / p["beta"],
            "c": inv * np.log(x[:, 0]),
            "alpha": inv * (np.log(b) + _log_sigmoid(-s)),
            "eps_inf": 1.0 - share,
            "eps0": share,
        }

    def _bounds(self, x, y):
        """c in [-4, 0] (widened downward if it binds), alpha in [0, 8] (widened upward),
        eps_inf between 0 and the smallest error, eps0 from the largest error to 1000x it, and
        beta any positive amplitude (searched as its logarithm)."""
        lo, hi = float(y.min()), float(y.max())
        return {
            "beta": (1e-300, 1e300),
            "c": (-4.0, 0.0),
            "alpha": (0.0, 8.0),
            "eps_inf": (0.0, lo),
            "eps0": (hi, 1e3 * hi),
        }

    def _starts(self, x, y):
        """Starts from a grid over (c, alpha, eps0; eps0 a few multiples of the largest error
        unless given): eps_inf from the alpha = 0 variable projection (eps = beta x^c + eps_inf,
        linear in beta and eps_inf, solved in closed form at each c), then log beta in closed
        form from the equation's log-linear form, log(eps - eps_inf) - alpha log(eps0 - eps) -
        c log x = log beta (its mean over the points). The grid points that score best by the
        law's own objective are the starts."""
        hi = float(y.max())
        eps0s = [self.fixed["eps0"]] if "eps0" in self.fixed else [k * hi for k in (1.05, 1.5, 4.0)]
        cs = -np.geomspace(0.02, 3.0, 24)
        basis = np.stack([np.power(x[None, :, 0], cs[:, None]), np.ones((len(cs), len(x)))], axis=-1)
        sd = self.point_errors(x)
        coef, _ = varpro.nonneg_least_squares(basis, y, sd)
        scored = []
        for i, (j, alpha, eps0) in enumerate(itertools.product(range(len(cs)), (0.0, 0.5, 1.0, 2.0), eps0s)):
            c = float(cs[j])
            eps_inf = float(np.clip(coef[j, 1], 0.0, 0.999 * float(y.min())))
            w = y - eps_inf
            ok = (w > 0) & (y < eps0)
            if ok.sum() < 2:
                continue
            # least squares for log beta in log w - alpha log(eps0 - y) = log beta + c log x
            log_beta = float(np.mean((np.log(w) - alpha * np.log(eps0 - y) - c * np.log(x[:, 0]))[ok]))
            p = {
                "beta": float(np.exp(np.clip(log_beta, -690.0, 690.0))),
                "c": c,
                "alpha": alpha,
                "eps_inf": eps_inf,
                "eps0": eps0,
            }
            with np.errstate(all="ignore"):
                r = self._residuals(self._f(x, p), y) / (1.0 if sd is None else sd)
            loss = float((r**2).sum()) if np.isfinite(r).all() else np.inf
            scored.append((loss, i, p))
        scored.sort(key=lambda t: (t[0], t[1]))
        return [p for _, _, p in scored[: varpro.STARTS]]
