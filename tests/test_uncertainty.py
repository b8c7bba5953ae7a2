"""Bootstrap CIs (coverage, reproducibility, correlations), backtests and selection by backtest."""

import numpy as np
import pytest

from scalinglaws.fit.backtest import backtest
from scalinglaws.fit.selection import select_law
from scalinglaws.fit.uncertainty import bootstrap, collapse_runs, resample_runs
from scalinglaws.fit.entry import fit_entry
from scalinglaws.fit.laws import BrokenPowerLaw, JointLaw, PowerLaw, make_law

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
    entry = fit_entry(PowerLaw(), points, means, reps, resample=what, seed=0)
    assert set(entry["params"]) == {"alpha", "beta", "gamma"}
    beta = entry["params"]["beta"]
    assert beta["ci95"][0] < beta["value"] < beta["ci95"][1] and beta["bounds"] == [-4.0, 0.0]
    assert entry["bootstrap"]["replicates"] == 30 and entry["bootstrap"]["seed"] == 0
    assert entry["regions"]["power_law_start"] == SHARDS[0]
    assert entry["derived"]["power_law_end"]["ci95"] is not None
    band = entry["band"]
    assert len(band["x"]) == len(band["lo"]) == 50
    assert all(lo <= f <= hi for lo, f, hi in zip(band["lo"], band["fit"], band["hi"]))
    assert "mean_rel_error" in entry["backtest"] and "power-law region" in entry["summary"]


def test_joint_fit_entry_draws_one_line_per_model_size():
    m, n = np.array([1e3, 1e4, 1e5]), 2.0 ** np.arange(8, 15)
    x = np.column_stack([np.tile(m, len(n)), np.repeat(n, len(m))])
    y = JointLaw()._f(x, {"a": 30.0, "alpha": 0.6, "b": 20.0, "beta": 0.5, "c_inf": 0.02, "eps0": 0.9})
    reps = [(x, y * np.exp(0.01 * np.random.default_rng(i).standard_normal(len(y)))) for i in range(10)]
    entry = fit_entry(JointLaw(), x, y, reps, resample="test", seed=0)
    plot = entry["plot"]
    assert plot["kind"] == "lines" and plot["line_input"] == "m" and plot["line_values"] == list(m)
    assert np.shape(plot["fit"]) == (3, 50) and np.shape(plot["lo"]) == (3, 50)
    assert entry["backtest"]["axis"] == "n"
