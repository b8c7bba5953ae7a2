"""Bootstrap CIs (coverage, reproducibility, correlations), backtests and selection by backtest."""

import numpy as np
import pytest

from scalinglaws.fit.backtest import backtest
from scalinglaws.fit.best_guess import best_guess_error
from scalinglaws.fit.entry import fit_entry
from scalinglaws.fit.identify import ci_warnings, exponent_words, gamma_warning
from scalinglaws.fit.laws import BrokenPowerLaw, JointLaw, PowerLaw, make_law
from scalinglaws.fit.result import FitResult
from scalinglaws.fit.selection import select_law
from scalinglaws.fit.uncertainty import (
    Replicates,
    bootstrap,
    collapse_runs,
    derived_interval,
    resample_runs,
    resample_seeds,
    runs_noise,
    shared_draws,
)

TRUTH = {"alpha": 2.0, "beta": -0.5, "gamma": 0.02}
SHARDS = 100 * 2.0 ** np.arange(8)


def power_runs(rng, seeds=10, sigma=0.05):
    """One row per run: `seeds` runs per shard with 5% multiplicative noise."""
    x = np.repeat(SHARDS, seeds)
    return x, (TRUTH["alpha"] * x ** TRUTH["beta"] + TRUTH["gamma"]) * np.exp(sigma * rng.standard_normal(len(x)))


@pytest.mark.slow
def test_bootstrap_cis_cover_the_truth_85_to_100_percent_of_the_time():
    """100 synthetic studies; in each, a 95% CI from 100 warm-started refits on redrawn runs."""
    rng = np.random.default_rng(2024)
    covered = {p: 0 for p in TRUTH}
    for rep in range(100):
        x, y = power_runs(rng)
        points, means, _ = collapse_runs(x, y)
        law = PowerLaw().fit(points, means)
        _, replicates = resample_runs(x, y, replicates=100, seed=rep)
        ci = bootstrap(law, replicates).intervals()
        for p, truth in TRUTH.items():
            covered[p] += ci[p][0] <= truth <= ci[p][1]
    for p, hits in covered.items():
        assert 85 <= hits <= 100, f"{p}: the 95% CI covered the truth in {hits} of 100 studies"


def test_bootstrap_is_reproducible_from_its_seed_and_reports_correlations():
    x, y = power_runs(np.random.default_rng(0))
    points, means, _ = collapse_runs(x, y)
    law = PowerLaw().fit(points, means)
    runs = [bootstrap(law, resample_runs(x, y, 50, seed)[1]) for seed in (7, 7, 8)]
    assert runs[0].intervals() == runs[1].intervals()
    assert runs[0].intervals() != runs[2].intervals()
    corr = runs[0].correlations()
    assert corr["params"] == ["log alpha", "beta", "gamma"]
    m = np.array(corr["matrix"])
    np.testing.assert_allclose(m, m.T)
    np.testing.assert_allclose(np.diag(m), 1.0)
    assert m[0, 1] < -0.5  # amplitude and exponent trade off along a learning curve


def test_resampling_redraws_runs_within_points_or_else_points():
    rng = np.random.default_rng(0)
    x, y = power_runs(rng, seeds=4)
    what, reps = resample_runs(x, y, 3, seed=0)
    assert what.startswith("runs within each point")
    for px, py in reps:
        np.testing.assert_array_equal(px[:, 0], SHARDS)  # every shard stays, its mean varies
    what, reps = resample_runs(SHARDS, np.arange(1.0, 9.0), 3, seed=0)
    assert what == "points"
    px, py = next(reps)
    np.testing.assert_array_equal(py, np.log2(px[:, 0] / 100) + 1)  # each (x, y) pair is drawn whole
    assert len(np.unique(px)) < len(SHARDS)  # with replacement


def test_backtest_scores_extrapolation_and_a_holdout_split():
    n = 128 * 2.0 ** np.arange(8)
    y = 3.0 * n**-0.5 + 0.01
    bt = backtest(PowerLaw(), n, y)
    assert bt["axis"] == "n" and len(bt["splits"]) == 4  # cutoffs at the 4th..7th shard
    assert [s["train_points"] for s in bt["splits"]] == [4, 5, 6, 7]
    assert bt["mean_rel_error"] < 1e-3  # exact data: the law extrapolates exactly
    split = bt["splits"][0]
    assert split["n"] == list(n[4:]) and split["train_max"] == n[3]
    # a law that cannot bend (no offset) extrapolates the flattening curve badly
    assert backtest(make_law("size"), n, y)["mean_rel_error"] > 0.05
    held = n >= 4096
    one = backtest(PowerLaw(), n, y, holdout=held)
    assert len(one["splits"]) == 1 and one["splits"][0]["test_points"] == held.sum()


def test_selection_picks_the_law_with_the_best_backtest():
    x = np.geomspace(1e2, 1e7, 20)
    bent = BrokenPowerLaw()._f(x[:, None], {"a": 0.0, "b": 5.0, "c0": 0.1, "c1": 0.6, "d1": 3e3, "f1": 0.3})
    entries = {}
    for name in ("power", "bnsl"):
        entries[name] = {"backtest": backtest(make_law(name), x, bent)}
    choice = select_law(entries, among="test")
    assert choice["law"] == "bnsl" and choice["scores"]["bnsl"] < choice["scores"]["power"]
    assert select_law({"power": entries["power"]}, among="one law") is None


def test_fit_entry_reports_everything_a_reader_needs():
    x, y = power_runs(np.random.default_rng(3))
    points, means, _ = collapse_runs(x, y)
    what, reps = resample_runs(x, y, 30, seed=0)
    entry = fit_entry(PowerLaw(), points, means, Replicates(reps, what, 0))
    assert set(entry["params"]) == {"alpha", "beta", "gamma"}
    beta = entry["params"]["beta"]
    assert beta["ci95"][0] < beta["value"] < beta["ci95"][1] and beta["bounds"] == [-4.0, 0.0]
    assert entry["bootstrap"]["replicates"] == 30 and entry["bootstrap"]["seed"] == 0
    assert entry["regions"]["power_law_start"] == SHARDS[0]
    assert entry["derived"]["power_law_end"]["ci95"] is not None
    band = entry["band"]
    assert len(band["x"]) == len(band["lo"]) == 60
    assert all(lo <= f <= hi for lo, f, hi in zip(band["lo"], band["fit"], band["hi"]))
    assert "mean_rel_error" in entry["backtest"] and "power-law region" in entry["summary"]


def test_joint_fit_entry_draws_one_line_per_model_size():
    m, n = np.array([1e3, 1e4, 1e5]), 2.0 ** np.arange(8, 15)
    x = np.column_stack([np.tile(m, len(n)), np.repeat(n, len(m))])
    y = JointLaw()._f(x, {"a": 30.0, "alpha": 0.6, "b": 20.0, "beta": 0.5, "c_inf": 0.02, "eps0": 0.9})
    reps = [(x, y * np.exp(0.01 * np.random.default_rng(i).standard_normal(len(y)))) for i in range(10)]
    entry = fit_entry(JointLaw(), x, y, Replicates(reps, "test", 0))
    plot = entry["plot"]
    assert plot["kind"] == "lines" and plot["line_input"] == "m" and plot["line_values"] == list(m)
    assert np.shape(plot["fit"]) == (3, 60) and np.shape(plot["lo"]) == (3, 60)
    assert entry["backtest"]["axis"] == "n"


# -- issue 15: levels of noise, intervals beyond the data, identifiability ---------------------------
def test_small_sample_correction_makes_redrawn_means_vary_like_new_seeds():
    """Redrawing k seeds with replacement shrinks the variance of their mean by (k-1)/k; widen()
    undoes it, so over many redraws var(mean of logs) equals the seeds' sample variance / k."""
    rng = np.random.default_rng(0)
    cube = np.exp(0.1 * rng.standard_normal((400, 1, 3)))
    redrawn = np.array([np.log(t).mean(axis=2)[:, 0] for _, t in resample_seeds(cube, cube, 300, seed=1)])
    expected = np.var(np.log(cube[:, 0]), axis=1, ddof=1) / 3
    assert np.mean(redrawn.var(axis=0)) == pytest.approx(np.mean(expected), rel=0.05)
    plain = np.array([np.log(cube[np.arange(400), 0][:, rng.integers(0, 3, 3)]).mean(1) for _ in range(300)])
    assert plain.var(axis=0).mean() < 0.75 * np.mean(expected)  # what the uncorrected redraw gives


def test_shared_noise_is_the_residual_variance_beyond_the_seeds():
    """Points whose seeds scatter 5% and whose shards scatter a further 10%: the fit's residual
    variance minus the seeds' share estimates the shard-level variance (0.01), and a new run
    varies by both."""
    rng = np.random.default_rng(5)
    n = np.repeat(100 * 2.0 ** np.arange(12), 4)
    truth = 2.0 * n**-0.5 + 0.02
    y = truth * np.exp(np.repeat(0.1 * rng.standard_normal(12), 4) + 0.05 * rng.standard_normal(len(n)))
    noise = runs_noise(n, y)
    assert noise.run_var == pytest.approx(0.05**2, rel=0.35) and noise.runs == 4
    points, means, _ = collapse_runs(n, y)
    fitted = noise.with_fit(PowerLaw().fit(points, means), points, means)
    assert fitted.dof == 9
    assert 0.003 < fitted.shared_var < 0.03
    assert fitted.new_run_var == pytest.approx(fitted.shared_var + noise.run_var)
    assert shared_draws(fitted, 500, seed=0).std() > 0  # its own uncertainty is drawn too


def test_prediction_interval_contains_the_band_and_both_reach_beyond_the_data():
    x, y = power_runs(np.random.default_rng(3), seeds=3)
    points, means, _ = collapse_runs(x, y)
    what, reps = resample_runs(x, y, 60, seed=0)
    entry = fit_entry(PowerLaw(), points, means, Replicates(reps, what, 0), noise=runs_noise(x, y))
    band = entry["band"]
    assert band["data_max"] == SHARDS.max() and max(band["x"]) == pytest.approx(10 * SHARDS.max())
    for key in ("lo", "hi", "pi_lo", "pi_hi"):
        assert len(band[key]) == len(band["x"])
    lo, hi, pi_lo, pi_hi = (np.array(band[k]) for k in ("lo", "hi", "pi_lo", "pi_hi"))
    assert (pi_lo < lo).all() and (hi < pi_hi).all()
    width = np.log(hi / lo)
    assert width[-1] > 2 * width[len(width) // 2]  # the band opens up where it extrapolates
    at_grid = FitResult.from_json(entry).predict(band["x"])  # the same numbers `predict` computes
    np.testing.assert_allclose(at_grid["ci_low"], lo)
    np.testing.assert_allclose(at_grid["pi_high"], pi_hi)


def test_warnings_when_a_ci_reaches_a_bound_or_spans_a_decade_or_gamma_is_not_reached():
    law = PowerLaw().fit(SHARDS, 2.0 * SHARDS**-0.5 + 0.001)
    law.ci_ = {"alpha": [1.9, 2.1], "beta": [-0.52, -0.48], "gamma": [0.0, 0.004]}
    law.bounds_ = {**law.bounds_, "gamma": (0.0, 0.05)}
    text = " ".join(ci_warnings(law))
    assert "gamma not resolved: its 95% CI [0, 0.004] reaches the lower bound" in text and "beta" not in text
    law.ci_["alpha"] = [0.5, 8.0]
    assert any(w.startswith("alpha poorly resolved") for w in ci_warnings(law))
    # the smallest error (0.023) is far above 1.5 gamma: gamma is an extrapolation
    assert gamma_warning(law, 2.0 * SHARDS**-0.5 + 0.001) and not gamma_warning(law, [0.0012])
    assert exponent_words(1.19, [0.68, 1.30]) == "not distinguishable from linear (CI contains 1)"
    assert exponent_words(0.6, [0.5, 0.7]) == "sub-linear" and exponent_words(1.3, [1.1, 1.5]) == "super-linear"


def test_best_guess_error_by_metric():
    rng = np.random.default_rng(0)
    y = rng.normal(0, 2.0, (20000, 1))
    assert best_guess_error("mse", y) == pytest.approx(4.0, rel=0.03)
    assert best_guess_error("rmse", y) == pytest.approx(2.0, rel=0.02)
    assert best_guess_error("error", np.arange(1000) % 10) == pytest.approx(0.9)
    assert best_guess_error("bpb", np.arange(256 * 4) % 256) == pytest.approx(8.0)


def test_an_interval_end_next_to_replicates_that_never_get_there_is_open():
    """A target 1 of 20 replicates never reaches: the 97.5th percentile falls between the last
    finite n and infinity, and was printed as 5.25e+299 (issue 24, found by plan's combination)."""
    assert derived_interval(np.array([1.0] * 19 + [np.inf])) == [1.0, None]
    assert derived_interval(np.arange(20.0)) == pytest.approx([0.475, 18.525])
    assert derived_interval(np.full(5, np.inf)) == [None, None]
