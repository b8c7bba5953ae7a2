"""Rosenfeld et al. 2020: the error of a model family across model size m and data size n.

    eps~(m, n) = a * n^-alpha + b * m^-beta + c_inf                 (the additive form)
    eps(m, n)  = eps0 * |eps~ / (eps~ - i*eta)| = eps0 * eps~ / sqrt(eps~^2 + eta^2)

The envelope bends the curve toward eps0 (the random-guess error) at tiny scales. eps depends
on eps~ only through eps~ / eta, so (a, b, c_inf, eta) are determined only up to a common
factor: we fix eta = eps0, which makes eps ~= eps~ wherever eps << eps0, so a, b and c_inf are
in units of the error and comparable with the additive form. Both forms are fitted, as in the
paper, by least squares on the relative divergence (eps_hat - eps) / eps.
"""

from __future__ import annotations

import numpy as np

from . import varpro
from .base import GivenEps0, Law, Role
from .envelope import envelope, envelope_grad, envelope_inverse


class AdditiveJointLaw(Law):
    """eps(m, n) = a * n^-alpha + b * m^-beta + c_inf, on the relative divergence."""

    name = "joint-additive"
    formula = "eps(m, n) = a*n^-alpha + b*m^-beta + c_inf"
    param_names = ("a", "alpha", "b", "beta", "c_inf")
    x_names = ("m", "n")
    log_params = frozenset({"a", "b"})
    axis = 1  # backtests extrapolate in data
    role = Role.JOINT
    auto = True
    plannable = True  # its best size at n is its own: the smallest m within tol of an infinite model
    widenable = frozenset({("alpha", "upper"), ("beta", "upper")})
    nested_bounds = frozenset({("c_inf", "lower")})  # no floor
    bound_notes = {
        ("alpha", "lower"): "the error does not fall with data",
        ("beta", "lower"): "the error does not fall with model size",
        ("c_inf", "lower"): "no irreducible error resolved",
        ("c_inf", "upper"): "c_inf reached the smallest error",
    }

    def _additive(self, x, p):
        return p["a"] * np.power(x[:, 1], -p["alpha"]) + p["b"] * np.power(x[:, 0], -p["beta"]) + p["c_inf"]

    def _f(self, x, p):
        return self._additive(x, p)

    def _grad(self, x, p):
        dn, dm = np.power(x[:, 1], -p["alpha"]), np.power(x[:, 0], -p["beta"])
        return {
            "a": dn,
            "alpha": -p["a"] * dn * np.log(x[:, 1]),
            "b": dm,
            "beta": -p["b"] * dm * np.log(x[:, 0]),
            "c_inf": np.ones(len(x)),
        }

    def _outer(self, t, p):
        """The error from the additive form: itself (the envelope's law bends it)."""
        return t

    def _outer_inverse(self, eps, p):
        return eps

    def _rest(self, n, p):
        """The additive form without its model-size term: an infinitely large model's."""
        return p["a"] * np.power(n, -p["alpha"]) + p["c_inf"]

    # -- what a plan reads --------------------------------------------------------------------
    def floor(self, params):
        """The error at infinite m and n."""
        return float(self._outer(np.asarray(params["c_inf"], float), params))

    def error_at_best(self, n, params, tol):
        """At the best size the error is within `tol` of an infinitely large model's."""
        return (1 + tol) * self._outer(self._rest(np.asarray(n, float), params), params)

    def best_size(self, n, params, tol):
        """The smallest m whose error is within `tol` of an infinitely large model's: b m^-beta
        is what the additive form has left above the rest at that error."""
        n = np.asarray(n, float)
        with np.errstate(invalid="ignore", divide="ignore"):
            target = self._outer_inverse(self.error_at_best(n, params, tol), params)
            return np.power(params["b"] / np.maximum(target - self._rest(n, params), 1e-300), 1 / params["beta"])

    def _residuals(self, pred, y):
        return (pred - y) / y

    def _residual_scale(self, pred, y):
        return 1.0 / y

    def _bounds(self, x, y):
        return {
            "a": (1e-12, 1e12),
            "alpha": (0.0, 4.0),
            "b": (1e-12, 1e12),
            "beta": (0.0, 4.0),
            "c_inf": (0.0, float(y.min())),
        }

    def _starts(self, x, y):
        """Variable projection over the exponents: a, b and c_inf in closed form for each."""
        return self._additive_starts(x, y, AdditiveJointLaw())

    def _additive_starts(self, x, y, ranker: "AdditiveJointLaw") -> list[dict]:
        exps = np.geomspace(0.05, 2.0, 10)
        nonlinear = varpro.grid(alpha=exps, beta=exps)
        basis = np.stack(
            [
                np.power(x[None, :, 1], -nonlinear["alpha"][:, None]),
                np.power(x[None, :, 0], -nonlinear["beta"][:, None]),
                np.ones((len(exps) ** 2, len(x))),
            ],
            axis=-1,
        )
        return varpro.best_starts(ranker, x, y, nonlinear, basis, ("a", "b", "c_inf"))


class JointLaw(GivenEps0, AdditiveJointLaw):
    """Rosenfeld's envelope around the additive form; eps0 is fitted unless given."""

    name = "joint"
    formula = "eps(m, n) = eps0 * eps~ / sqrt(eps~^2 + eps0^2),  eps~ = a*n^-alpha + b*m^-beta + c_inf"
    param_names = ("a", "alpha", "b", "beta", "c_inf", "eps0")
    log_params = frozenset({"a", "b", "eps0"})
    bound_notes = {
        **AdditiveJointLaw.bound_notes,
        ("eps0", "upper"): "the data show no small-data region, so the envelope is inactive (use joint-additive)",
        ("eps0", "lower"): "eps0 reached the largest error",
    }
    nested_bounds = AdditiveJointLaw.nested_bounds | {("eps0", "upper")}  # no envelope: joint-additive

    def _f(self, x, p):
        return envelope(self._additive(x, p), p["eps0"])

    def _grad(self, x, p):
        return envelope_grad(self._additive(x, p), p["eps0"], super()._grad(x, p))

    def _outer(self, t, p):
        return envelope(t, p["eps0"])

    def _outer_inverse(self, eps, p):
        return envelope_inverse(eps, p["eps0"])

    def _bounds(self, x, y):
        return {**super()._bounds(x, y), "eps0": (float(y.max()), 1e3 * float(y.max()))}

    def _starts(self, x, y):
        starts = self._additive_starts(x, y, AdditiveJointLaw())
        if "eps0" in self.fixed:
            return [{**s, **self.fixed} for s in starts]
        return [{**s, "eps0": k * float(y.max())} for k in (2, 10) for s in starts]
