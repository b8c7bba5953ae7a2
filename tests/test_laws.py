"""Every law recovers known parameters from noisy synthetic data, and says when it cannot."""

import numpy as np
import pytest

from scalinglaws.fit.laws import (
    LAWS,
    AdditiveJointLaw,
    BrokenPowerLaw,
    ChinchillaLaw,
    EnvelopeLaw,
    FitError,
    JointLaw,
    PowerLaw,
    SizeLaw,
    TwoBreakPowerLaw,
    make_law,
)


def noisy(y, sigma, seed=1):
    return y * np.exp(sigma * np.random.default_rng(seed).standard_normal(len(y)))


def grid(a, b):
    """All (a_i, b_j) pairs as rows."""
    aa, bb = np.meshgrid(a, b)
    return np.column_stack([aa.ravel(), bb.ravel()])


@pytest.mark.parametrize("alpha,beta,gamma", [(3.0, -0.5, 0.01), (0.8, -0.3, 0.0), (50.0, -1.0, 0.05)])
def test_power_law_recovers_known_parameters_from_noisy_points(alpha, beta, gamma):
    n = 128 * 2.0 ** np.arange(10)
    y = noisy(alpha * n**beta + gamma, 0.01)
    law = PowerLaw().fit(n, y)
    p = law.params_
    assert p["beta"] == pytest.approx(beta, abs=0.05)
    assert p["gamma"] == pytest.approx(gamma, abs=0.003 + 0.1 * gamma)
    assert law.goodness(n, y)["r2_log"] > 0.99
    np.testing.assert_allclose(law.predict(n), alpha * n**beta + gamma, rtol=0.05)
    assert law.extras()["regions"]["small_data_n"] == []  # a clean power law has no small-data region


def test_power_law_finds_its_three_regions():
    """A curve that saturates at the best-guess error (0.9) for small n and flattens at gamma."""
    n = 2.0 ** np.arange(4, 22)
    clean = 20.0 * n**-0.5 + 0.05
    y = noisy(0.9 * clean / (clean**4 + 0.9**4) ** 0.25, 0.01)  # a sharp bend toward 0.9
    law = PowerLaw(best_guess=0.9, point_var=0.01**2).fit(n, y)
    regions = law.extras()["regions"]
    assert 64 <= regions["power_law_start"] <= 2048  # the saturated shards are left out (1024 still bends 7%)
    assert regions["small_data_n"] == [v for v in n if v < regions["power_law_start"]]
    assert law.params_["beta"] == pytest.approx(-0.5, abs=0.05)
    # the irreducible region starts where 20 n^-0.5 = 0.05, at n = 160,000
    assert regions["power_law_end"] == pytest.approx(160_000, rel=0.3)
    assert regions["irreducible_reached"]
    assert "small-data region" in law.summary() and "irreducible region" in law.summary()
    # without detection (or without a best guess to anchor it), the bend biases the exponent
    assert abs(PowerLaw(regions=False).fit(n, y).params_["beta"] + 0.5) > 0.08
    assert PowerLaw().fit(n, y).extras()["regions"]["small_data_n"] == []


def test_size_law_recovers_exponent():
    n = 100 * 2.0 ** np.arange(8)
    law = SizeLaw().fit(n, noisy(7.0 * n**0.7, 0.05))
    assert law.params_["beta_p"] == pytest.approx(0.7, abs=0.03)
    assert law.params_["k"] == pytest.approx(7.0, rel=0.3)


def test_broken_power_law_recovers_its_break():
    x = np.geomspace(1e2, 1e7, 25)
    truth = {"a": 0.05, "b": 5.0, "c0": 0.2, "c1": 0.6, "d1": 1e4, "f1": 0.5}
    law = BrokenPowerLaw()
    y = noisy(law._f(x[:, None], truth), 0.01)
    p = law.fit(x, y).params_
    assert p["c0"] == pytest.approx(0.2, abs=0.05) and p["c1"] == pytest.approx(0.6, abs=0.1)
    assert p["d1"] == pytest.approx(1e4, rel=0.5)
    assert p["a"] == pytest.approx(0.05, abs=0.01)


def test_two_break_power_law_recovers_both_breaks():
    x = np.geomspace(1e1, 1e8, 36)
    truth = {"a": 0.0, "b": 3.0, "c0": 0.1, "c1": 0.5, "d1": 1e3, "f1": 0.3, "c2": -0.4, "d2": 1e6, "f2": 0.3}
    law = TwoBreakPowerLaw()
    y = noisy(law._f(x[:, None], truth), 0.005)
    p = law.fit(x, y).params_
    assert p["c0"] == pytest.approx(0.1, abs=0.05)
    assert p["c1"] == pytest.approx(0.5, abs=0.1) and p["c2"] == pytest.approx(-0.4, abs=0.1)
    assert p["d1"] == pytest.approx(1e3, rel=0.5) and p["d2"] == pytest.approx(1e6, rel=0.5)


JOINT_X = grid(np.array([1e3, 4e3, 1.6e4, 6.4e4, 2.56e5]), 2.0 ** np.arange(8, 17))  # (m, n)
JOINT_TRUTH = {"a": 30.0, "alpha": 0.6, "b": 20.0, "beta": 0.5, "c_inf": 0.02, "eps0": 0.9}


@pytest.mark.parametrize("eps0", [None, 0.9])
def test_joint_law_recovers_exponents_with_the_envelope(eps0):
    y = noisy(JointLaw()._f(JOINT_X, JOINT_TRUTH), 0.01)
    law = JointLaw(eps0=eps0).fit(JOINT_X, y)
    p = law.params_
    assert p["alpha"] == pytest.approx(0.6, abs=0.03) and p["beta"] == pytest.approx(0.5, abs=0.03)
    assert p["c_inf"] == pytest.approx(0.02, abs=0.005)
    assert p["eps0"] == pytest.approx(0.9, rel=0.1)
    assert ("eps0" in law.fixed) == (eps0 is not None)
    # Rosenfeld et al. report a mean fit divergence under 1%
    assert law.goodness(JOINT_X, y)["mean_rel_error"] < 0.015


def test_additive_joint_law_recovers_its_parameters():
    truth = {k: v for k, v in JOINT_TRUTH.items() if k != "eps0"}
    y = noisy(AdditiveJointLaw()._f(JOINT_X, truth), 0.01)
    p = AdditiveJointLaw().fit(JOINT_X, y).params_
    for name, value in truth.items():
        assert p[name] == pytest.approx(value, rel=0.15), name


def test_chinchilla_law_recovers_known_parameters_and_allocation():
    x = grid(np.geomspace(1e7, 1e10, 8), np.geomspace(1e9, 1e12, 8))  # (N, D)
    truth = {"E": 1.7, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.28}
    law = ChinchillaLaw(screen=100)
    y = noisy(law._f(x, truth), 0.003)
    p = law.fit(x, y).params_
    assert p["E"] == pytest.approx(1.7, abs=0.03)
    assert p["alpha"] == pytest.approx(0.34, abs=0.03) and p["beta"] == pytest.approx(0.28, abs=0.03)
    # the compute-optimal allocation minimises the loss on the budget, and spends all of it
    compute = 1e22
    n_opt, d_opt = law.optimal_allocation(compute)
    assert 6 * n_opt * d_opt == pytest.approx(compute)
    for factor in (0.5, 2.0):
        other = law.predict([[n_opt * factor, d_opt / factor]])[0]
        assert other > law.predict([[n_opt, d_opt]])[0]
    d = law.derived(p)
    assert d["n_opt_exponent"] == pytest.approx(p["beta"] / (p["alpha"] + p["beta"]))


def test_bootstrap_refit_is_one_warm_start_and_keeps_options():
    n = 128 * 2.0 ** np.arange(8)
    y = noisy(3.0 * n**-0.5 + 0.01, 0.01)
    law = PowerLaw(best_guess=1.0, point_var=1e-4).fit(n, y)
    again = law.refit(n, y)
    assert again.options() == law.options() and again is not law
    for k, v in law.params_.items():
        assert again.params_[k] == pytest.approx(v, rel=1e-4, abs=1e-8)


# -- honest failure ------------------------------------------------------------------------------
def test_power_law_rejects_too_few_or_non_positive_points():
    with pytest.raises(FitError, match="at least 3"):
        PowerLaw().fit([1, 2], [1.0, 0.5])
    with pytest.raises(FitError, match="positive"):
        PowerLaw().fit([1, 2, 4], [1.0, 0.0, 0.5])


def test_few_points_are_flagged():
    n = np.array([100.0, 200.0, 400.0, 800.0])
    law = PowerLaw().fit(n, 2 * n**-0.5 + 0.01)
    assert any("only 4 points for 3 parameters" in w for w in law.warnings_)


def test_flat_curve_is_flagged():
    law = PowerLaw().fit([100, 200, 400, 800], [0.5, 0.52, 0.49, 0.51])
    assert law.warnings_


def test_rising_curve_is_flagged_and_beta_stuck_at_its_bound():
    n = 100 * 2.0 ** np.arange(6)
    law = PowerLaw().fit(n, 0.1 * n**0.2)
    assert any("do not decrease with n" in w for w in law.warnings_)
    assert any("beta = " in w and "upper bound" in w and "does not decrease" in w for w in law.warnings_)


def test_break_outside_the_data_is_noted_not_warned():
    """No break in the data: the law becomes a plain power law over them (a nested bound), which
    its intervals carry: a note, not a warning."""
    x = np.geomspace(1e2, 1e6, 12)
    law = BrokenPowerLaw().fit(x, noisy(2.0 * x**-0.3, 0.002))
    assert any("d1" in w or "f1" in w or "c1" in w for w in law.notes_), law.notes_
    assert not law.warnings_, law.warnings_


def test_wrong_number_of_inputs_is_an_error():
    with pytest.raises(FitError, match="2 input column"):
        JointLaw().fit(np.arange(1, 10.0), np.ones(9))


def test_summary_is_printable_with_cis_and_registry_is_complete():
    n = 128 * 2.0 ** np.arange(8)
    law = PowerLaw().fit(n, noisy(3.0 * n**-0.5 + 0.01, 0.01))
    law.ci_ = {"beta": [-0.55, -0.45]}
    text = law.summary()
    assert "eps(n) = alpha * n^beta + gamma" in text and "[-0.55, -0.45]" in text and "power-law region" in text
    assert set(LAWS) == {
        "power",
        "power-pure",
        "size",
        "bnsl",
        "bnsl2",
        "envelope",
        "m4",
        "joint",
        "joint-additive",
        "chinchilla",
        "pruning",
        "pruning-invariant",
    }
    assert make_law("joint", eps0=0.5).fixed == {"eps0": 0.5}
    with pytest.raises(ValueError, match="unknown law 'hestness'"):
        make_law("hestness")


def test_a_binding_box_is_widened_and_the_sharper_bend_recovered():
    """A bend whose slope changes by 5 (beyond c1's first box, 4): the box is widened and the
    refit recovers c1, where the narrow box would stop at 4 and extrapolate 2x worse."""
    x = np.geomspace(1e2, 1e6, 24)
    truth = {"a": 0.01, "b": 1.0, "c0": 0.1, "c1": 5.0, "d1": 1e4, "f1": 0.5}
    y = BrokenPowerLaw()._f(x[:, None], truth) * np.exp(0.01 * np.random.default_rng(0).standard_normal(24))
    fit, beyond = x <= 1e5, x > 1e5
    law = BrokenPowerLaw().fit(x[fit], y[fit])
    assert law.widen_ == {("c1", "upper"): 1} and law.bounds_["c1"] == (-4.0, 12.0) and not law.warnings_
    assert law.params_["c1"] == pytest.approx(5.0, rel=0.1) and law.params_["d1"] == pytest.approx(1e4, rel=0.2)
    narrow = BrokenPowerLaw()
    narrow.widenable = frozenset()
    narrow.fit(x[fit], y[fit])
    assert narrow.params_["c1"] == pytest.approx(4.0) and "at its upper bound" in narrow.warnings_[0]
    error = {
        k: np.sqrt(np.mean(np.log(m.predict(x[beyond]) / y[beyond]) ** 2))
        for k, m in (("wide", law), ("narrow", narrow))
    }
    assert error["wide"] < 0.5 * error["narrow"]
    # a box that still binds after widening is called what it is: not identified
    steep = PowerLaw(regions=False).fit(n := np.geomspace(10, 30, 8), 0.1 + 2 * (n / 10) ** -20.0)
    assert any("beta" in w and "not identified" in w for w in steep.warnings_)


def test_variable_projection_finds_steep_and_shallow_power_laws_without_luck():
    for beta, top, gamma in ((-0.02, 1e4, 0.05), (-0.3, 1e4, 0.05), (-2.5, 1e3, 1e-4), (-6.0, 20, 1e-6)):
        n = np.geomspace(2, top, 10)
        law = PowerLaw(regions=False).fit(n, 3.0 * n**beta + gamma)
        assert law.params_["beta"] == pytest.approx(beta, rel=0.01), beta
        assert law.widen_ == ({("beta", "lower"): 1} if beta < -4 else {})


def test_region_end_never_overflows_nor_reads_as_nonsense():
    """gamma ~ 7e-14 with beta ~ -0.02 put (gamma/alpha)^(1/beta) beyond any float."""
    law = PowerLaw()
    law.params_, law.n_start_, law.n_max_, law.small_data_ = (
        {"alpha": 0.5, "beta": -0.02, "gamma": 7e-14},
        100.0,
        1e4,
        [],
    )
    assert law.n_end() == np.inf and law.extras()["regions"]["power_law_end"] is None
    assert "beyond 1000x the largest n (not resolved by the data)" in law._summary_extras()[0]
    law.params_ = {"alpha": 0.5, "beta": -0.5, "gamma": 0.3}  # gamma dominates from the first point on
    assert law._summary_extras()[0].startswith("irreducible region from the first point on: alpha * n^beta < gamma")
    law.params_ = {"alpha": 0.01, "beta": -0.5, "gamma": 0.3}  # falls by 0.3% over the data: no regions to speak of
    assert law._summary_extras() == []


def test_constant_or_too_short_curves_are_refused_with_a_reason():
    with pytest.raises(FitError, match=r"y is constant \(0.3\)"):
        PowerLaw().fit([1, 2, 4, 8], [0.3] * 4)
    with pytest.raises(FitError, match="need at least 3 finite points, got 2"):
        PowerLaw().fit([1, 2], [0.5, 0.4])


def test_envelope_law_recovers_a_curve_bent_at_both_ends():
    """Near eps0 at small n, a power law in the middle, a floor at large n: the envelope finds
    the exponent that the plain power law, pulled by the bend, misses."""
    n = 1e5 * 2.0 ** np.arange(12)
    truth = {"a": 300.0, "alpha": 0.5, "c": 0.3, "eps0": 1.0}
    y = noisy(EnvelopeLaw()._f(n[:, None], truth), 0.005)
    law = EnvelopeLaw().fit(n, y)
    assert law.params_["alpha"] == pytest.approx(0.5, abs=0.05) and law.params_["c"] == pytest.approx(0.3, abs=0.02)
    assert law.params_["eps0"] == pytest.approx(1.0, rel=0.1) and not law.warnings_
    far = 1e5 * 2.0**16
    truth_far = EnvelopeLaw()._f(np.array([[far]]), truth)[0]
    assert abs(np.log(law.predict([far])[0] / truth_far)) < 0.01
    power = PowerLaw().fit(n, y)
    assert abs(power.params_["beta"] + 0.5) > 0.1 and abs(np.log(power.predict([far])[0] / truth_far)) > 0.03
