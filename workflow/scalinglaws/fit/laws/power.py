"""Hestness et al. 2017: the learning curve eps(n) = alpha * n^beta + gamma, and its three regions.

- small-data region: the smallest shards, where the error stays near the best guess, so the
  points lie below the power law's backward extrapolation; they are found by refitting without
  the smallest shard while it sits clearly below the rest's fit, and are left out of the fit;
- power-law region: from the first kept shard up to `n_end`;
- irreducible region: beyond `n_end = (gamma / alpha)^(1 / beta)`, where the reducible part
  alpha * n^beta has fallen below gamma (the local log-log slope is less than half of beta).
"""

from __future__ import annotations

import numpy as np

from . import varpro
from .base import Law

FAR = 1e3  # a region end beyond FAR x the largest n is not resolved by the data, only extrapolated


class PowerLaw(Law):
    """eps(n) = alpha * n^beta + gamma, beta < 0, 0 <= gamma <= the smallest error."""

    name = "power"
    formula = "eps(n) = alpha * n^beta + gamma"
    param_names = ("alpha", "beta", "gamma")
    log_params = frozenset({"alpha"})
    widenable = frozenset({("beta", "lower")})
    bound_notes = {
        ("beta", "upper"): "the curve does not decrease",
        ("beta", "lower"): "the curve falls faster than any power law in the search box",
        ("gamma", "upper"): "no irreducible region resolved (gamma reached the smallest error)",
        ("gamma", "lower"): "no irreducible error resolved: a pure power law fits",
    }

    def __init__(self, regions: bool = True, tolerance: float = 0.1):
        """regions: detect (and leave out) the small-data region; tolerance: how far (relative,
        at least) the smallest shard must sit below the others' fit to count as small-data."""
        super().__init__()
        self.regions, self.tolerance = regions, tolerance

    def options(self) -> dict:
        return {"regions": self.regions, "tolerance": self.tolerance}

    def _f(self, x, p):
        return p["alpha"] * np.power(x[:, 0], p["beta"]) + p["gamma"]

    def _grad(self, x, p):
        reducible = np.power(x[:, 0], p["beta"])
        return {"alpha": reducible, "beta": p["alpha"] * reducible * np.log(x[:, 0]), "gamma": np.ones(len(x))}

    def _bounds(self, x, y):
        """beta down to -4 (widened to -16 if it binds); alpha such that the reducible part at
        the smallest n lies within 1e6 of the largest error for any such beta."""
        n0, top = float(x[:, 0].min()), float(y.max())
        reach = n0**16.0 if np.log(n0) * 16 < 690 else 1e300
        alpha = (max(1e-6 * top * min(1.0, reach), 1e-300), min(1e6 * top * max(1.0, reach), 1e300))
        return {"alpha": alpha, "beta": (-4.0, 0.0), "gamma": (0.0, float(y.min()))}

    def _starts(self, x, y):
        """Variable projection over beta: alpha and gamma in closed form for each beta."""
        lo = self._box(x, y)["beta"][0]
        nonlinear = varpro.grid(beta=-np.geomspace(0.01, -lo, 60))
        basis = np.stack([np.power(x[None, :, 0], nonlinear["beta"][:, None]), np.ones((60, len(x)))], axis=-1)
        return varpro.best_starts(self, x, y, nonlinear, basis, ("alpha", "gamma"))

    # -- regions ----------------------------------------------------------------------------
    def _fit(self, x, y, init):
        if init is not None:
            n_start = init.n_start_  # a bootstrap refit keeps the region of the fit it resamples
        elif self.regions:
            n_start = self._power_law_start(x, y)
        else:
            n_start = float(x[:, 0].min())
        keep = x[:, 0] >= n_start
        super()._fit(x[keep], y[keep], init)
        self.n_start_ = n_start
        self.small_data_ = sorted(float(n) for n in np.unique(x[~keep, 0]))
        self.n_max_ = float(x[:, 0].max())
        self.n_points_ = int(keep.sum())

    def _power_law_start(self, x, y) -> float:
        """The smallest shard of the power-law region (see the module docstring)."""
        shards = np.unique(x[:, 0])
        need = len(self.free) + 2  # points left after dropping, so that a misfit is visible
        k = 0
        while (x[:, 0] > shards[k]).sum() >= need:
            rest = x[:, 0] > shards[k]
            law = PowerLaw(regions=False)
            Law._fit(law, x[rest], y[rest], None)
            pred = law._f(x[~rest], law.params_)
            res = law._residuals(law._f(x[rest], law.params_), y[rest])
            gap = float(np.mean(np.log(pred) - np.log(y[~rest])))  # > 0: below the backward extrapolation
            if gap > max(np.log1p(self.tolerance), 3 * float(np.sqrt(np.mean(res**2)))):
                k += 1
                x, y = x[rest], y[rest]
            else:
                break
        return float(shards[k])

    def n_end(self, params: dict | None = None) -> float | None:
        """Where the power-law region ends: alpha * n^beta = gamma (None if gamma is 0).
        Computed in logs: a tiny beta puts it far beyond any float (then inf)."""
        p = params or self.params_
        if p["gamma"] <= 0 or p["beta"] >= 0 or p["alpha"] <= 0:
            return None
        log_end = (np.log(p["gamma"]) - np.log(p["alpha"])) / p["beta"]
        return float(np.exp(min(log_end, 709.0))) if log_end < 709.0 else float("inf")

    def derived(self, params):
        n_end = self.n_end(params)
        return {"power_law_end": n_end if n_end is not None else float("inf")}

    def goodness(self, x, y) -> dict:
        """Goodness over the power-law region (the points the fit used)."""
        x, y = self.check_data(x, y)
        keep = x[:, 0] >= self.n_start_
        return super().goodness(x[keep], y[keep])

    def _resolved_end(self) -> float | None:
        """n_end where the data can speak to it: after the region's start, within FAR x the data."""
        n_end = self.n_end()
        return n_end if n_end is not None and self.n_start_ < n_end <= FAR * self.n_max_ else None

    def extras(self) -> dict:
        n_end = self._resolved_end()
        return {
            "regions": {
                "small_data_n": self.small_data_,
                "power_law_start": self.n_start_,
                "power_law_end": n_end,
                "irreducible_reached": n_end is not None and n_end <= self.n_max_,
                "definition": "small-data: smallest shards below the power law's backward extrapolation, "
                "left out of the fit; irreducible: n > (gamma/alpha)^(1/beta), where alpha*n^beta < gamma; "
                f"power_law_end is null when that lies before the first point or beyond {FAR:g}x the largest n",
            }
        }

    def _summary_extras(self):
        n_end = self.n_end()
        if n_end is not None and n_end <= self.n_start_:
            lines = ["no power-law region: alpha * n^beta is below gamma from the first point on"]
        else:
            end = ("beyond any n (gamma = 0)" if n_end is None else f"{n_end:.4g}" if n_end <= FAR * self.n_max_
                   else f"beyond {FAR:g}x the largest n (not resolved by the data)")  # fmt: skip
            lines = [f"power-law region: n from {self.n_start_:.4g} to {end}"]
        if self.small_data_:
            lines.append(
                f"small-data region (left out of the fit): n = {', '.join(f'{n:.4g}' for n in self.small_data_)}"
            )
        if n_end is not None and self.n_start_ < n_end <= self.n_max_:
            lines.append(f"irreducible region: n > {n_end:.4g} (reached by the data)")
        return lines

    def _fit_warnings(self, x, y):
        lo, hi = self.predict([x[:, 0].max()])[0], self.predict([self.n_start_])[0]
        drop = hi / lo - 1
        if drop < 0.05:
            return [f"the fitted curve falls only {100 * drop:.1f}% over the data: no power-law region"]
        return []
