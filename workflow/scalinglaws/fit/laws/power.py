"""Hestness et al. 2017: the learning curve eps(n) = alpha * n^beta + gamma, and its three regions.

- small-data region: the smallest shards, where the error stays near the best guess, so the
  points lie below the power law's backward extrapolation; fit/regions.py decides them by a test
  (it needs the best-guess error; without it no shard is left out), redone in every bootstrap
  replicate;
- power-law region: from the first kept shard up to `n_end`;
- irreducible region: beyond `n_end = (gamma / alpha)^(1 / beta)`, where the reducible part
  alpha * n^beta has fallen below gamma (the local log-log slope is less than half of beta).
"""

from __future__ import annotations

import numpy as np

from ..regions import small_data_start
from . import minimizer, varpro
from .base import Law, Prior, as_inputs
from .size import SizeLaw

FAR = 1e3  # a region end beyond FAR x the largest n is not resolved by the data, only extrapolated
FLAT = 0.05  # a fitted curve that falls less than this over the data has no power-law region


class PowerLaw(Law):
    """eps(n) = alpha * n^beta + gamma, beta < 0, 0 <= gamma <= the smallest error."""

    name = "power"
    formula = "eps(n) = alpha * n^beta + gamma"
    param_names = ("alpha", "beta", "gamma")
    log_params = frozenset({"alpha"})
    widenable = frozenset({("beta", "lower")})
    nested_bounds = frozenset({("gamma", "lower")})  # no floor: the pure power law
    priors = {"best_guess": Prior.BEST_GUESS}
    auto = default = plannable = batched = True
    size_law = SizeLaw  # a plan pairs it with the size law's fit for the best size at n
    bound_notes = {
        ("beta", "upper"): "the curve does not decrease",
        ("beta", "lower"): "the curve falls faster than any power law in the search box",
        ("gamma", "upper"): "the floor is at the smallest error: the curve flattens faster than a power law "
        "approaches its floor",
        ("gamma", "lower"): "no irreducible error resolved: a pure power law fits",
    }

    def __init__(self, regions: bool = True, best_guess: float | None = None, point_var: float = 0.0):
        """regions: detect (and leave out) the small-data region, which needs `best_guess`, the
        best-guess error; point_var: the variance of log(error) of one point from its seeds."""
        super().__init__()
        self.regions, self.best_guess, self.point_var = regions, best_guess, point_var

    def options(self) -> dict:
        return {"regions": self.regions, "best_guess": self.best_guess, "point_var": self.point_var}

    @classmethod
    def seed_noise_options(cls, options, point_var):
        """The region test weighs by the points' seed noise: given with the best guess it needs."""
        return {**options, "point_var": point_var} if options.get("best_guess") is not None else options

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
        lo = minimizer.box(self, x, y)["beta"][0]
        nonlinear = varpro.grid(beta=-np.geomspace(0.01, -lo, 60))
        basis = np.stack([np.power(x[None, :, 0], nonlinear["beta"][:, None]), np.ones((60, len(x)))], axis=-1)
        return varpro.best_starts(self, x, y, nonlinear, basis, ("alpha", "gamma"))

    # -- regions ----------------------------------------------------------------------------
    def _fit(self, x, y, init):
        n_start = float(x[:, 0].min())
        if self.regions and self.best_guess is not None:  # decided again in every bootstrap replicate
            # each point's seed variance, if weighed (else the pooled one); the test estimates what the
            # points share beyond it from the model that leaves out the most shards, not from the
            # shared variance of a fit that may include the region's shards
            sd = self.point_errors(x, relative=False, seeds_only=True)
            n_start = small_data_start(
                lambda xr, yr, start: self._fit_plain(xr, yr, init or start, self.point_sd),
                x,
                y,
                self.best_guess,
                self.point_var if sd is None else sd**2,
            )
        keep = x[:, 0] >= n_start
        super()._fit(x[keep], y[keep], init)
        self.n_start_ = n_start
        self.small_data_ = sorted(float(n) for n in np.unique(x[~keep, 0]))
        self.n_max_ = float(x[:, 0].max())
        self.n_points_ = int(keep.sum())

    @staticmethod
    def _fit_plain(x, y, init, point_sd=None) -> "PowerLaw":
        """The law without regions fitted to (x, y), from `init`'s estimate if given, its
        points weighed by `point_sd` (Law.weigh) if given."""
        law = PowerLaw(regions=False)
        law.point_sd = point_sd
        Law._fit(law, x, y, init)
        return law

    def refits_batched(self) -> bool:
        """Its `_fit` adds only the region test; without one, refits run as one batch."""
        return self.batched and not (self.regions and self.best_guess is not None)

    def n_end(self, params: dict | None = None) -> float | None:
        """Where the power-law region ends: alpha * n^beta = gamma (None if gamma is 0).
        Computed in logs: a tiny beta puts it far beyond any float (then inf)."""
        p = params or self.params_
        if p["gamma"] <= 0 or p["beta"] >= 0 or p["alpha"] <= 0:
            return None
        log_end = (np.log(p["gamma"]) - np.log(p["alpha"])) / p["beta"]
        return float(np.exp(min(log_end, 709.0))) if log_end < 709.0 else float("inf")

    # -- what a plan reads --------------------------------------------------------------------
    def floor(self, params):
        return float(params["gamma"])

    def derived(self, params):
        n_end = self.n_end(params)
        return {"power_law_end": n_end if n_end is not None else float("inf")}

    def fitted_rows(self, x):
        return as_inputs(x, 1)[:, 0] >= self.n_start_

    def goodness(self, x, y) -> dict:
        """Goodness over the power-law region (the points the fit used)."""
        x, y = self.check_data(x, y)
        keep = self.fitted_rows(x)
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
                "definition": "small-data: smallest shards near the best-guess error that a model comparison puts "
                "below the power law's backward extrapolation, left out of the fit (fit/regions.py); irreducible: "
                "n > (gamma/alpha)^(1/beta), where alpha*n^beta < gamma; "
                f"power_law_end is null when that lies before the first point or beyond {FAR:g}x the largest n",
                "best_guess": self.best_guess,
            }
        }

    def _summary_extras(self):
        n_end, flat = self.n_end(), self._drop() < FLAT
        if flat:
            lines = []  # no regions to speak of: the warning says the curve does not fall
        elif n_end is not None and n_end <= self.n_start_:
            lines = [
                "irreducible region from the first point on: alpha * n^beta < gamma at every n measured (no "
                "power-law region by Hestness et al.'s definition)"
            ]
        else:
            end = (
                "beyond any n (gamma = 0)"
                if n_end is None
                else f"{n_end:.4g}"
                if n_end <= FAR * self.n_max_
                else f"beyond {FAR:g}x the largest n (not resolved by the data)"
            )
            lines = [f"power-law region: n from {self.n_start_:.4g} to {end}"]
        if self.small_data_:
            lines.append(
                f"small-data region (left out of the fit): n = {', '.join(f'{n:.4g}' for n in self.small_data_)}"
            )
        if not flat and n_end is not None and self.n_start_ < n_end <= self.n_max_:
            lines.append(f"irreducible region: n > {n_end:.4g} (reached by the data)")
        return lines

    def _drop(self) -> float:
        """How much the fitted curve falls over the fitted points (0.1: by 10%)."""
        lo, hi = self.predict([self.n_max_])[0], self.predict([self.n_start_])[0]
        return hi / lo - 1

    def _fit_warnings(self, x, y):
        drop = self._drop()
        if drop < FLAT:
            return [f"the fitted curve falls only {100 * drop:.1f}% over the data: no power-law region"]
        return []


class PurePowerLaw(PowerLaw):
    """eps(n) = alpha * n^beta: the power law without its floor (gamma held at 0), two
    parameters. A curve of three or four points cannot tell a floor apart, so this is the law
    that can answer from so few. Where power itself can be backtested, the combination leaves
    this one out (fit/combine.py): it is power with the floor held at 0, a claim that backtests
    inside the data cannot test (the floor shows beyond them), while its two parameters win those
    backtests and its narrow band would then stand for power's."""

    name = "power-pure"
    restricts = "power"
    formula = "eps(n) = alpha * n^beta   (no floor: gamma = 0)"
    priors = {}
    default = False

    def __init__(self):
        super().__init__(regions=False)
        self.fixed = {"gamma": 0.0}

    def options(self) -> dict:
        return {}

    @classmethod
    def seed_noise_options(cls, options, point_var):
        return options
