"""Scaling laws as small estimators: `fit(x, y)` then `predict(x)`, named parameters, a summary.

Fits minimise squared residuals of log(y), because errors along a learning curve span decades
and relative (not absolute) misfit is what matters; every fit is multi-start so that a single
unlucky start cannot return a local minimum.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
from scipy.optimize import least_squares

from .errors import UserError


class FitError(UserError):
    """The data cannot support the fit (too few points, non-positive values, ...)."""


class Law:
    name = "law"
    param_names: tuple[str, ...] = ()
    formula = ""

    def __init__(self):
        self.params_: dict[str, float] | None = None
        self.warnings_: list[str] = []

    def predict(self, x) -> np.ndarray:
        if self.params_ is None:
            raise RuntimeError(f"{self.name}: call fit() before predict()")
        return self._f(np.asarray(x, dtype=float), **self.params_)

    def goodness(self, x, y) -> dict:
        """R^2 and RMSE of log(y), and mean absolute relative error of the prediction."""
        y = np.asarray(y, float)
        pred = self.predict(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            res = np.log(pred) - np.log(y)
        ss_tot = float(((np.log(y) - np.log(y).mean()) ** 2).sum())
        return {
            "r2_log": 1.0 - float((res**2).sum()) / ss_tot if ss_tot > 0 else float("nan"),
            "rmse_log": float(np.sqrt(np.mean(res**2))),
            "mean_rel_error": float(np.mean(np.abs(pred - y) / y)),
            "points": int(len(y)),
        }

    def summary(self) -> str:
        vals = ", ".join(f"{k}={v:.4g}" for k, v in (self.params_ or {}).items())
        return f"{self.name}: {self.formula}  [{vals}]"

    @staticmethod
    def _check(x, y, min_points: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        if len(x) < min_points:
            raise FitError(f"need at least {min_points} finite points, got {len(x)}")
        if (x <= 0).any() or (y <= 0).any():
            raise FitError("x and y must be positive (logs are taken)")
        return x, y


class PowerLaw(Law):
    """Hestness et al. 2017: eps(n) = alpha * n^beta + gamma (beta < 0, gamma >= 0)."""

    name = "power"
    param_names = ("alpha", "beta", "gamma")
    formula = "eps(n) = alpha * n^beta + gamma"
    beta_bounds = (-4.0, 0.0)

    @staticmethod
    def _f(n, alpha, beta, gamma):
        return alpha * np.power(n, beta) + gamma

    def fit(self, n, y) -> "PowerLaw":
        n, y = self._check(n, y, min_points=3)
        # Work with n / n0 so that the amplitude stays O(y) whatever the data scale.
        n0 = float(np.exp(np.log(n).mean()))
        u, logy, ymin = np.log(n / n0), np.log(y), float(y.min())

        def residuals(theta):
            log_a, beta, gamma = theta
            return np.log(np.exp(log_a + beta * u) + gamma) - logy

        best = None
        lo = [-50.0, self.beta_bounds[0], 0.0]
        hi = [50.0, self.beta_bounds[1], ymin]
        for beta0, frac in itertools.product((-0.1, -0.3, -0.7, -1.5), (0.0, 0.5, 0.9)):
            gamma0 = frac * ymin
            log_a0 = float(np.mean(np.log(np.maximum(y - gamma0, 1e-12 * ymin)) - beta0 * u))
            try:
                res = least_squares(residuals, [log_a0, beta0, gamma0], bounds=(lo, hi), method="trf")
            except ValueError:
                continue
            if best is None or res.cost < best.cost:
                best = res
        log_a, beta, gamma = best.x
        self.params_ = {"alpha": float(np.exp(log_a) * n0 ** (-beta)), "beta": float(beta), "gamma": float(gamma)}
        self.warnings_ = []
        if beta >= self.beta_bounds[1] - 1e-6:
            self.warnings_.append("beta is at 0: the curve does not decrease")
        drop = self.predict(n.min()) / self.predict(n.max()) - 1
        if drop < 0.05:
            self.warnings_.append(f"the fitted curve falls only {100 * drop:.1f}% over the data: no power-law region")
        if gamma >= ymin * (1 - 1e-6):
            self.warnings_.append("gamma is at its bound (the smallest error): no irreducible region resolved")
        return self


class SizeLaw(Law):
    """Best model size vs data: s(n) = k * n^beta_p, a straight line in log-log space."""

    name = "size"
    param_names = ("k", "beta_p")
    formula = "s(n) = k * n^beta_p"

    @staticmethod
    def _f(n, k, beta_p):
        return k * np.power(n, beta_p)

    def fit(self, n, s) -> "SizeLaw":
        n, s = self._check(n, s, min_points=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.RankWarning)
            beta_p, log_k = np.polyfit(np.log(n), np.log(s), 1)
        self.params_ = {"k": float(np.exp(log_k)), "beta_p": float(beta_p)}
        self.warnings_ = [] if len(np.unique(s)) > 1 else ["every shard picked the same size"]
        return self


LAWS = {cls.name: cls for cls in (PowerLaw, SizeLaw)}
