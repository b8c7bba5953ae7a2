"""Rosenfeld et al. 2020's envelope on one input: a learning curve that bends at both ends.

    eps(n) = eps0 * t / sqrt(t^2 + eps0^2),   t = a * n^-alpha + c

t is the power law plus constant; the envelope bends it toward eps0 (the best-guess error) at
small n, where the power law alone would overshoot, so the exponent and the floor c are
estimated from the curve's middle and end instead of being pulled by its small-data start. It
is the `joint` law with the model-size term left out (one parameter more than `power`).
"""

from __future__ import annotations

import numpy as np

from . import varpro
from .base import Law
from .size import SizeLaw


def envelope(t, eps0):
    """Rosenfeld et al. 2020's envelope, eps0 * t / sqrt(t^2 + eps0^2): ~t where t << eps0,
    bent toward eps0 as t grows (the joint law's, this law's and a plan's, defined here once)."""
    return eps0 * t / np.sqrt(t * t + eps0**2)


def envelope_grad(t, eps0, inner: dict) -> dict:
    """The envelope's gradient: d/dq for every q of `inner` (d t / d q, by the chain rule,
    d envelope / d t = eps0^3 / (t^2 + eps0^2)^1.5), and d/d eps0 = t^3 / (t^2 + eps0^2)^1.5."""
    cube = np.power(t * t + eps0 * eps0, 1.5)
    grad = {q: g * eps0**3 / cube for q, g in inner.items()}
    grad["eps0"] = t**3 / cube
    return grad


def envelope_inverse(eps, eps0):
    """t with envelope(t, eps0) = eps (infinite where eps >= eps0: no t reaches it)."""
    return eps * eps0 / np.sqrt(np.maximum(eps0**2 - eps**2, 0.0))


class EnvelopeLaw(Law):
    name = "envelope"
    auto = plannable = batched = True
    size_law = SizeLaw  # a plan pairs it with the size law's fit for the best size at n
    formula = "eps(n) = eps0 * t / sqrt(t^2 + eps0^2),  t = a*n^-alpha + c"
    param_names = ("a", "alpha", "c", "eps0")
    log_params = frozenset({"a", "eps0"})
    widenable = frozenset({("alpha", "upper")})
    nested_bounds = frozenset({("c", "lower"), ("eps0", "upper")})  # no floor; no bend: power plus constant
    bound_notes = {
        ("alpha", "lower"): "the curve does not decrease",
        ("c", "lower"): "no irreducible error resolved",
        (
            "c",
            "upper",
        ): "the floor is at the smallest error: the curve flattens faster than the law approaches its floor",
        ("eps0", "upper"): "no small-data bend resolved (the power law alone fits: use power)",
        ("eps0", "lower"): "eps0 reached the largest error",
    }

    def _f(self, x, p):
        return envelope(p["a"] * np.power(x[:, 0], -p["alpha"]) + p["c"], p["eps0"])

    def floor(self, params):
        """t falls to c (to a + c where alpha = 0: a flat curve), and the envelope bends it below c."""
        t = params["c"] + (params["a"] if params["alpha"] <= 0 else 0.0)
        return float(envelope(t, params["eps0"]))

    def _grad(self, x, p):
        reducible = np.power(x[:, 0], -p["alpha"])
        inner = {"a": reducible, "alpha": -p["a"] * reducible * np.log(x[:, 0]), "c": np.ones(len(x))}
        return envelope_grad(p["a"] * reducible + p["c"], p["eps0"], inner)

    def _bounds(self, x, y):
        """c up to where the curve's floor, eps0 c / sqrt(c^2 + eps0^2) (below c), can still
        be the smallest error for some eps0 in its box: c <= y_min y_max / sqrt(y_max^2 - y_min^2)."""
        lo, hi = float(y.min()), float(y.max())
        c_max = min(lo * hi / np.sqrt((hi - lo) * (hi + lo)), 1e3 * hi) if hi > lo else lo
        return {"a": (1e-300, 1e300), "alpha": (0.0, 4.0), "c": (0.0, c_max), "eps0": (hi, 1e3 * hi)}

    def _starts(self, x, y):
        """For each eps0, undo the envelope (t = y eps0 / sqrt(eps0^2 - y^2)), then variable
        projection over alpha: a and c in closed form."""
        alphas = np.geomspace(0.02, 3.0, 40)
        basis = np.stack([np.power(x[None, :, 0], -alphas[:, None]), np.ones((len(alphas), len(x)))], axis=-1)
        starts = []
        for k in (1.05, 1.3, 2.0, 10.0):
            eps0 = k * float(y.max())
            t = envelope_inverse(y, eps0)
            coef, sse = varpro.nonneg_least_squares(basis, t)
            i = int(np.argmin(sse))
            starts.append(
                {"a": max(float(coef[i, 0]), 1e-300), "alpha": float(alphas[i]), "c": float(coef[i, 1]), "eps0": eps0}
            )
        return starts
