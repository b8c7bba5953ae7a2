"""Caballero et al. 2022: smoothly broken power laws, for curves with a bend.

    y = a + b * x^-c0 * prod_i (1 + (x / d_i)^(1 / f_i))^(-c_i * f_i)

Each break i at x = d_i changes the log-log slope from -(c0 + ... + c_{i-1}) to
-(c0 + ... + c_i); f_i sets how sharp the bend is. Evaluated in log space (softplus) so that
sharp breaks cannot overflow.
"""

from __future__ import annotations

import itertools

import numpy as np

from .base import Law


class BrokenPowerLaw(Law):
    """A smoothly broken power law with one break (or `breaks=2`)."""

    name = "bnsl"
    log_params = frozenset({"b", "d1", "f1", "d2", "f2"})

    def __init__(self, breaks: int = 1):
        super().__init__()
        if breaks not in (1, 2):
            raise ValueError(f"bnsl: breaks must be 1 or 2, got {breaks}")
        self.breaks = breaks
        self.param_names = ("a", "b", "c0") + tuple(f"{k}{i}" for i in range(1, breaks + 1) for k in "cdf")
        terms = " * ".join(f"(1 + (x/d{i})^(1/f{i}))^(-c{i}*f{i})" for i in range(1, breaks + 1))
        self.formula = f"y = a + b * x^-c0 * {terms}"
        self.bound_notes = {("a", "lower"): "no irreducible error resolved", ("a", "upper"): "a reached the smallest y"}
        for i in range(1, breaks + 1):
            self.bound_notes[(f"d{i}", "lower")] = self.bound_notes[(f"d{i}", "upper")] = (
                "the break lies at the edge of the data: no bend resolved there"
            )

    def options(self) -> dict:
        return {"breaks": self.breaks}

    def _f(self, x, p):
        log_x = np.log(x[:, 0])
        log_reducible = np.log(p["b"]) - p["c0"] * log_x
        for i in range(1, self.breaks + 1):
            c, d, f = p[f"c{i}"], p[f"d{i}"], p[f"f{i}"]
            log_reducible = log_reducible - c * f * np.logaddexp(0.0, (log_x - np.log(d)) / f)
        return p["a"] + np.exp(log_reducible)

    def _bounds(self, x, y):
        bounds = {"a": (0.0, float(y.min())), "b": (1e-30, 1e30), "c0": (-2.0, 4.0)}
        for i in range(1, self.breaks + 1):
            bounds.update({f"c{i}": (-4.0, 4.0), f"d{i}": (float(x.min()), float(x.max())), f"f{i}": (0.01, 10.0)})
        return bounds

    def _starts(self, x, y):
        log_x = np.log(x[:, 0])
        quantile = lambda q: float(np.exp(np.quantile(log_x, q)))  # noqa: E731
        if self.breaks == 1:
            grid = itertools.product(
                (0.1, 0.5), ((-0.3,), (0.3,), (1.0,)), ((quantile(0.3),), (quantile(0.6),)), (0.3, 1.0)
            )
        else:
            grid = itertools.product((0.2,), ((-0.3, 0.5), (0.5, -0.3), (0.5, 0.5)),
                                     ((quantile(0.25), quantile(0.6)), (quantile(0.4), quantile(0.8))), (0.5,))  # fmt: skip
        starts = []
        for (c0, cs, ds, f), frac in itertools.product(grid, (0.0, 0.5)):
            p = {"a": frac * float(y.min()), "b": 1.0, "c0": c0}
            for i, (c, d) in enumerate(zip(cs, ds), start=1):
                p.update({f"c{i}": c, f"d{i}": d, f"f{i}": f})
            # the amplitude that matches the data on average, given the rest
            shape = self._f(x, p) - p["a"]
            p["b"] = float(np.exp(np.mean(np.log(np.maximum(y - p["a"], 1e-12 * y.min())) - np.log(shape))))
            starts.append(p)
        return starts

    def _fit_warnings(self, x, y):
        return [
            f"c{i} = {self.params_[f'c{i}']:.3g}: the break hardly changes the slope, no bend resolved "
            "(a plain power law is enough)"
            for i in range(1, self.breaks + 1)
            if abs(self.params_[f"c{i}"]) < 0.02
        ]


class TwoBreakPowerLaw(BrokenPowerLaw):
    name = "bnsl2"

    def __init__(self, breaks: int = 2):
        super().__init__(breaks)
