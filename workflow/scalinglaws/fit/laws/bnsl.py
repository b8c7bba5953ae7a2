"""Caballero et al. 2022: smoothly broken power laws, for curves with a bend.

    y = a + b * x^-c0 * prod_i (1 + (x / d_i)^(1 / f_i))^(-c_i * f_i)

Each break i at x = d_i changes the log-log slope from -(c0 + ... + c_{i-1}) to
-(c0 + ... + c_i); f_i sets how sharp the bend is. Evaluated in log space (softplus) so that
sharp breaks cannot overflow.
"""

from __future__ import annotations

import numpy as np

from . import varpro
from .base import Law
from .size import SizeLaw


class BrokenPowerLaw(Law):
    """A smoothly broken power law with one break (or `breaks=2`)."""

    name = "bnsl"
    auto = True  # with one break; bnsl2 only when named
    batched = True
    plannable = True
    size_law = SizeLaw  # a plan pairs it with the size law's fit for the best size at n
    log_params = frozenset({"b", "d1", "f1", "d2", "f2"})

    def __init__(self, breaks: int = 1):
        super().__init__()
        if breaks not in (1, 2):
            raise ValueError(f"bnsl: breaks must be 1 or 2, got {breaks}")
        self.breaks = breaks
        self.widenable = frozenset(
            {("c0", "lower"), ("c0", "upper")}
            | {(f"c{i}", side) for i in range(1, breaks + 1) for side in ("lower", "upper")}
        )
        self.param_names = ("a", "b", "c0") + tuple(f"{k}{i}" for i in range(1, breaks + 1) for k in "cdf")
        terms = " * ".join(f"(1 + (x/d{i})^(1/f{i}))^(-c{i}*f{i})" for i in range(1, breaks + 1))
        self.formula = f"y = a + b * x^-c0 * {terms}"
        self.bound_notes = {("a", "lower"): "no irreducible error resolved", ("a", "upper"): "a reached the smallest y"}
        # no floor; a break at the data's edge, or spread over all of it (a power law over the data),
        # or as sharp as a kink (the family's own limit)
        self.nested_bounds = frozenset(
            {("a", "lower")} | {(f"{k}{i}", s) for i in range(1, breaks + 1) for k in "df" for s in ("lower", "upper")}
        )
        for i in range(1, breaks + 1):
            self.bound_notes[(f"d{i}", "lower")] = self.bound_notes[(f"d{i}", "upper")] = (
                "the break lies at the edge of the data: no bend resolved there"
            )
            self.bound_notes[(f"f{i}", "lower")] = "the bend is a kink, as sharp as the box allows"
            self.bound_notes[(f"f{i}", "upper")] = "the bend is spread over the whole data: not resolved"

    def options(self) -> dict:
        return {"breaks": self.breaks}

    def _shape(self, log_x, p) -> np.ndarray:
        """log of the reducible part over b; parameters may be arrays (G, 1) for a grid."""
        out = -p["c0"] * log_x
        for i in range(1, self.breaks + 1):
            c, d, f = p[f"c{i}"], p[f"d{i}"], p[f"f{i}"]
            out = out - c * f * np.logaddexp(0.0, (log_x - np.log(d)) / f)
        return out

    def _f(self, x, p):
        return p["a"] + p["b"] * np.exp(self._shape(np.log(x[:, 0]), p))

    def floor(self, params):
        """Beyond the last break the slope is -(c0 + c1 + ...): a falling curve approaches a, a
        flat one a + b prod d_i^c_i, and a rising one has no floor (inf)."""
        slope = params["c0"] + sum(params[f"c{i}"] for i in range(1, self.breaks + 1))
        if slope > 0:
            return float(params["a"])
        if slope < 0:
            return float("inf")
        return float(
            params["a"] + params["b"] * np.prod([params[f"d{i}"] ** params[f"c{i}"] for i in range(1, self.breaks + 1)])
        )

    def _grad(self, x, p):
        log_x = np.log(x[:, 0])
        reducible = p["b"] * np.exp(self._shape(log_x, p))
        grad = {"a": np.ones(len(x)), "b": reducible / p["b"], "c0": -reducible * log_x}
        for i in range(1, self.breaks + 1):
            c, d, f = p[f"c{i}"], p[f"d{i}"], p[f"f{i}"]
            u = (log_x - np.log(d)) / f
            soft, sig = np.logaddexp(0.0, u), 0.5 * (1 + np.tanh(u / 2))  # softplus(u) and its derivative
            grad.update(
                {
                    f"c{i}": -reducible * f * soft,
                    f"d{i}": reducible * c * sig / d,
                    f"f{i}": -reducible * c * (soft - u * sig),
                }
            )
        return grad

    def _bounds(self, x, y):
        """Slopes in [-4, 4] (c0 in [-2, 4]) and sharpness f in [0.01, 10], widened where they
        bind; a break inside the data; b any positive amplitude (searched as its logarithm)."""
        x0, x1 = float(x.min()), float(x.max())
        bounds = {"a": (0.0, float(y.min())), "b": (1e-300, 1e300), "c0": (-2.0, 4.0)}
        for i in range(1, self.breaks + 1):
            bounds.update({f"c{i}": (-4.0, 4.0), f"d{i}": (x0, x1), f"f{i}": (0.01, 10.0)})
        return bounds

    def _starts(self, x, y):
        """Variable projection: a and b in closed form over a grid of slopes, breaks, sharpness."""
        q = np.exp(np.quantile(np.log(x[:, 0]), [0.15, 0.3, 0.5, 0.7, 0.85]))
        if self.breaks == 1:
            nonlinear = varpro.grid(
                c0=(-0.5, 0.0, 0.2, 0.5, 1.0, 2.0), c1=(-1.0, -0.3, 0.3, 1.0, 2.0, 4.0), d1=q, f1=(0.05, 0.3, 1.0)
            )
        else:
            nonlinear = varpro.grid(
                c0=(0.0, 0.3, 1.0), c1=(-0.5, 0.5, 2.0), c2=(-0.5, 0.5, 2.0), d1=q[:3], d2=q[2:], f1=(0.1, 0.5)
            )
            nonlinear["f2"] = nonlinear["f1"]
        shape = np.exp(self._shape(np.log(x[None, :, 0]), {k: v[:, None] for k, v in nonlinear.items()}))
        basis = np.stack([np.ones_like(shape), shape], axis=-1)
        return varpro.best_starts(self, x, y, nonlinear, basis, ("a", "b"))

    def _fit_notes(self, x, y):
        return [
            f"c{i} = {self.params_[f'c{i}']:.3g}: the break hardly changes the slope, no bend resolved "
            "(a plain power law is enough)"
            for i in range(1, self.breaks + 1)
            if abs(self.params_[f"c{i}"]) < 0.02
        ]


class TwoBreakPowerLaw(BrokenPowerLaw):
    name = "bnsl2"
    auto = False

    def __init__(self, breaks: int = 2):
        super().__init__(breaks)
