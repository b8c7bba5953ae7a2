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
    # Growth is not measured below this exponent at the CI's lower end (n^0.01 grows a size by
    # under 10% over four decades of n; replicates where every shard picks the same size give 0).
    MIN_EXPONENT = 0.01
    # nor by a backtest off by more than 10x on average (mean relative error 9): the best sizes
    # sit on a coarse grid, where one step of 3x alone is 200%
    BACKTEST_LIMIT = 9.0

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

    @classmethod
    def unresolved(cls, params: dict, ci: dict, backtest: dict) -> str | None:
        """The growth is not measured when beta_p's CI reaches 0 (below MIN_EXPONENT: the best
        size may as well stay put), or when the law's own backtest misses the held-out best sizes
        by more than 10x on average: then a size read off the law is no better than the measured ones."""
        reasons = []
        lo, hi = ci.get("beta_p") or (None, None)
        if lo is not None and lo < cls.MIN_EXPONENT <= hi:
            reasons.append(f"beta_p = {params['beta_p']:.2f}, its 95% CI [{lo:.2f}, {hi:.2f}] reaches 0")
        missed = backtest.get("mean_rel_error")
        if missed is not None and missed > cls.BACKTEST_LIMIT:
            reasons.append(f"its backtest misses the held-out best sizes by {100 * missed:.0f}% on average")
        return "; ".join(reasons) or None

    def flat(self, sizes, count: int, seed: int = 0) -> tuple["SizeLaw", np.ndarray]:
        """The law of a best size that does not change with n, read off the measured best
        `sizes`: their median, and `count` replicates that each take one of them (so that an
        interval over the replicates spans the measured ones): for a growth that is not measured."""
        sizes = np.asarray(sizes, float)
        law = SizeLaw()
        law.params_ = {"k": float(np.median(sizes)), "beta_p": 0.0}
        draws = np.random.default_rng([seed, 23]).choice(sizes, count)
        return law, np.column_stack([draws, np.zeros(count)])

    def _fit_warnings(self, x, y):
        return [] if len(np.unique(y)) > 1 else ["every shard picked the same size"]
