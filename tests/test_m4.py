"""Alabdulmohsin et al. 2022's M4: the implicit equation solved exactly, its gradient, its fit,
and what it says when the data do not support it."""

import numpy as np
import pytest

from scalinglaws.fit.laws import FitError, M4Law, PowerLaw, make_law
from scalinglaws.fit.laws.m4 import solve_logit

TRUTH = {"beta": 20.0, "c": -0.5, "alpha": 1.0, "eps_inf": 0.1, "eps0": 1.0}
N = 2.0 ** np.arange(16)  # from near eps0 (0.96) down to twice the floor (0.19)


def noisy(y, sigma, seed=1):
    return y * np.exp(sigma * np.random.default_rng(seed).standard_normal(len(y)))


def equation(eps, x, p):
    """Both sides of (eps - eps_inf) / (eps0 - eps)^alpha = beta x^c, in logs (the left one
    infinite where eps has saturated at eps0 in floating point)."""
    with np.errstate(all="ignore"):
        lhs = np.log(eps - p["eps_inf"]) - p["alpha"] * np.log(p["eps0"] - eps)
    return lhs, np.log(p["beta"]) + p["c"] * np.log(x)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0, 2.5, 12.0])
def test_m4_solves_its_equation_to_machine_precision(alpha):
    p = {**TRUTH, "alpha": alpha}
    x = np.geomspace(1e-2, 1e9, 60)
    eps = M4Law()._f(x[:, None], p)
    assert np.all((eps > p["eps_inf"]) & (eps <= p["eps0"]))
    lhs, rhs = equation(eps, x, p)
    inside = eps < p["eps0"] * (1 - 1e-9)  # where eps has not saturated at eps0 in floating point
    assert inside.sum() > 30
    # eps to ~1e-14 relative: the left side, computed from the rounded eps, is off by as much
    # times its sensitivity to eps (large where eps0 - eps is small)
    with np.errstate(all="ignore"):
        sensitivity = eps / (eps - p["eps_inf"]) + p["alpha"] * eps / (p["eps0"] - eps)
    assert np.all((np.abs(lhs - rhs) / sensitivity)[inside] < 1e-14)
    # the root of the logit form itself, to ~1e-12 over a wide range of targets
    target = np.linspace(-60, 60, 241)
    s = solve_logit(target, alpha)
    log_sig = -np.logaddexp(0, -s)
    resid = log_sig - alpha * (log_sig - s) - target
    ok = np.abs(s) < 700  # beyond: no root in range (alpha = 0 and target >= 0: eps = eps0)
    assert np.max(np.abs(resid[ok])) < 1e-12 * 60
    if alpha == 0:
        assert np.all(s[target >= 0] == 700.0)


def test_m4_is_accurate_where_the_excess_error_is_tiny():
    """eps_inf = 0 and eps down to 1e-16 of eps0: the excess is computed from log sigmoid, not
    from 1 + tanh, which would cancel to 0 there."""
    p = {"beta": 1e-3, "c": -1.0, "alpha": 0.5, "eps_inf": 0.0, "eps0": 1.0}
    x = np.geomspace(1e2, 1e13, 12)
    eps = M4Law()._f(x[:, None], p)
    assert np.all(eps > 0) and eps.min() < 1e-15
    lhs, rhs = equation(eps, x, p)
    assert np.max(np.abs(lhs - rhs)) < 1e-13


def test_m4_at_alpha_zero_is_power_plus_constant_below_eps0():
    p = {"beta": 2.0, "c": -0.5, "alpha": 0.0, "eps_inf": 0.05, "eps0": 1.0}
    x = np.geomspace(10, 1e6, 20)
    eps = M4Law()._f(x[:, None], p)
    assert eps == pytest.approx(0.05 + 2.0 * x**-0.5, rel=1e-12)
    assert M4Law()._f(np.array([[1.0]]), p)[0] == pytest.approx(1.0)  # 2.05 > eps0: held at eps0


@pytest.mark.parametrize(
    "p",
    [
        TRUTH,
        {**TRUTH, "alpha": 0.4, "c": -0.3},
        {**TRUTH, "alpha": 3.0, "eps_inf": 0.0},
        {"beta": 0.5, "c": -1.2, "alpha": 0.0, "eps_inf": 0.2, "eps0": 2.0},
    ],
)
def test_m4_gradient_matches_finite_differences(p):
    law = M4Law()
    x = np.geomspace(1, 1e5, 12)[:, None]
    grad = law._grad(x, p)
    for q in law.param_names:
        h = 1e-6 * max(abs(p[q]), 1e-2)
        lo, hi = dict(p), dict(p)
        if q == "alpha" and p[q] == 0:  # one-sided at the bound
            lo[q], hi[q], width = 0.0, h, h
        else:
            lo[q], hi[q], width = p[q] - h, p[q] + h, 2 * h
        numeric = (law._f(x, hi) - law._f(x, lo)) / width
        tol = 1e-4 * np.max(np.abs(numeric)) + 1e-9 + (5e-3 * np.max(np.abs(numeric)) if width == h else 0)
        assert np.max(np.abs(grad[q] - numeric)) < tol, q


def test_m4_recovers_known_parameters_from_noisy_points():
    """0.2% noise on 16 points that span the curve from near eps0 to twice its floor. Over 40
    seeds the estimates' standard deviations were c 0.014, alpha 0.057, eps_inf 0.0037, eps0
    0.0041 and the log error of the curve 2x-16x beyond the data at most 0.03 (c, alpha and
    eps_inf trade off; at 1% noise all five times wider): the tolerances are 4 of them."""
    y = noisy(M4Law()._f(N[:, None], TRUTH), 0.002)
    law = M4Law().fit(N, y)
    p = law.params_
    assert p["c"] == pytest.approx(-0.5, abs=0.06) and p["alpha"] == pytest.approx(1.0, abs=0.25)
    assert p["eps_inf"] == pytest.approx(0.1, abs=0.015) and p["eps0"] == pytest.approx(1.0, rel=0.02)
    assert not law.warnings_, law.warnings_
    far = N.max() * np.array([2.0, 16.0])
    truth_far = M4Law()._f(far[:, None], TRUTH)
    assert np.max(np.abs(np.log(law.predict(far) / truth_far))) < 0.05
    again = law.refit(N, y)  # a warm-started bootstrap refit lands on the same optimum
    for k, v in law.params_.items():
        assert again.params_[k] == pytest.approx(v, rel=1e-3, abs=1e-6)


def test_m4_with_eps0_given_fits_four_parameters():
    y = noisy(M4Law()._f(N[:, None], TRUTH), 0.002)
    law = make_law("m4", eps0=1.0).fit(N, y)
    assert law.fixed == {"eps0": 1.0} and law.free == ["beta", "c", "alpha", "eps_inf"]
    assert law.params_["eps0"] == 1.0 and law.params_["c"] == pytest.approx(-0.5, abs=0.05)
    assert law.clone().options() == {"eps0": 1.0}
    assert "(fixed)" in law.summary()


def test_m4_predictions_beyond_the_data_are_finite_and_monotone():
    y = noisy(M4Law()._f(N[:, None], TRUTH), 0.02, seed=3)
    law = M4Law().fit(N, y)
    x = np.geomspace(1e-3, 1e15, 400)
    pred = law.predict(x)
    assert np.isfinite(pred).all() and np.all(np.diff(pred) <= 0)
    assert np.all(pred >= law.params_["eps_inf"]) and np.all(pred <= law.params_["eps0"])


def test_m4_says_when_the_data_do_not_support_it():
    n = 100 * 2.0 ** np.arange(8)
    with pytest.raises(FitError, match=r"y is constant"):
        M4Law().fit(n, np.full(8, 0.3))
    with pytest.raises(FitError, match="need at least 5 finite points, got 4"):
        M4Law().fit(n[:4], [0.9, 0.7, 0.5, 0.4])
    rising = M4Law().fit(n, 0.1 * n**0.2)
    assert any("do not decrease with n" in w for w in rising.warnings_)
    assert any("c = " in w and "upper bound" in w and "does not decrease" in w for w in rising.warnings_)
    # power plus constant far below eps0: no bend toward eps0 to resolve, and the law says so
    plain = M4Law().fit(n, noisy(2.0 * n**-0.5 + 0.01, 0.002))
    assert any(
        w.startswith("alpha = ") and "lower bound" in w and "no bend toward eps0 resolved" in w for w in plain.notes_
    ), plain.notes_
    assert not any("alpha" in w for w in plain.warnings_)  # power plus constant is m4's own limit: a note
    power = PowerLaw(regions=False).fit(n, noisy(2.0 * n**-0.5 + 0.01, 0.002))
    assert plain.cost_ <= power.cost_ * (1 + 1e-6)  # M4 nests power plus constant (alpha = 0)
