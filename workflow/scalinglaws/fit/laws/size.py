"""Best model size vs data (Hestness et al. 2017): s(n) = k * n^beta_p, a line in log-log space."""

from __future__ import annotations

import warnings

import numpy as np

from .base import Law, Role


class SizeLaw(Law):
    """s(n) = k * n^beta_p, fitted in closed form (least squares of log s on log n)."""

    name = "size"
    formula = "s(n) = k * n^beta_p"
    param_names = ("k", "beta_p")
    log_params = frozenset({"k"})
    decreasing = False
    weighable = False  # a line through log sizes (polyfit), not the weighted objective
    role = Role.SIZE
    default = True

    def best_size(self, n, params, tol=None):
        """Its own prediction (the sizes it was fitted to are the study's best sizes, at its tol)."""
        return params["k"] * np.power(np.asarray(n, float), params["beta_p"])

    def _f(self, x, p):
        return p["k"] * np.power(x[:, 0], p["beta_p"])

    def _bounds(self, x, y):
        return {"k": (0.0, np.inf), "beta_p": (-np.inf, np.inf)}

    def _fit(self, x, y, init):
        self.bounds_ = self._bounds(x, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.RankWarning)
            beta_p, log_k = np.polyfit(np.log(x[:, 0]), np.log(y), 1)
        self.params_ = {"k": float(np.exp(log_k)), "beta_p": float(beta_p)}

    def _fit_warnings(self, x, y):
        return [] if len(np.unique(y)) > 1 else ["every shard picked the same size"]
