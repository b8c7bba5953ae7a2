"""End to end: the real Snakemake workflow on a tiny study, checked by value."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import TINY_CONFIG, job_counts, snakemake

pytestmark = pytest.mark.e2e
N_SHARDS, N_SIZES, N_SEEDS, N_LRS = 5, 2, 2, 2


def test_tiny_study_runs_every_stage(tiny_run):
    work, proc = tiny_run
    counts = job_counts(proc.stdout)
    assert counts["train"] == N_SHARDS * N_SIZES
    assert counts["shard"] == N_SHARDS and counts["eval_splits"] == 1
    assert counts["aggregate"] == counts["fit"] == counts["figures"] == 1
    # every job says what it runs, and the study ends with one line saying where its results are
    assert "train teacher/mlp size 16 on n=1024 (2 seeds x 2 lr, key " in proc.stdout
    assert proc.stdout.count("scalinglaws: study done: ") == 1
    assert "scalinglaws: study done: figures results/tiny/figures/, fits results/tiny/fits/fits.json" in proc.stdout


def test_runs_table_has_every_run(tiny_run):
    work, _ = tiny_run
    runs = pd.read_csv(work / "results/tiny/tables/runs.csv")
    assert len(runs) == N_SHARDS * N_SIZES * N_SEEDS * N_LRS
    assert sorted(runs["n"].unique()) == [64, 128, 256, 512, 1024]
    assert set(runs["size"]) == {4, 16} and set(runs["lr"]) == {0.01, 0.03}
    assert (runs["params"][runs["size"] == 16] == 4 * 16 + 16 + 16 * 16 + 16 + 17).all()
    assert not runs["diverged"].any()
    assert runs["test_metric"].between(0.0, 2.0).all()


def test_learning_curve_selects_best_validation_config(tiny_run):
    work, _ = tiny_run
    runs = pd.read_csv(work / "results/tiny/tables/runs.csv")
    curve = pd.read_csv(work / "results/tiny/tables/learning_curve.csv")
    assert list(curve["n"]) == [64, 128, 256, 512, 1024]
    for row in curve.itertuples():
        shard = runs[runs["n"] == row.n]
        means = shard.groupby(["size", "lr"])["val_metric"].mean()
        assert (row.size, row.lr) == means.idxmin()
        winner = shard[(shard["size"] == row.size) & (shard["lr"] == row.lr)]
        assert row.test_mean == pytest.approx(winner["test_metric"].mean())
        assert row.test_std == pytest.approx(winner["test_metric"].std(ddof=0))
    # more data helps: the curve falls by a clear margin from the smallest to the largest shard
    assert curve["test_mean"].iloc[-1] < 0.7 * curve["test_mean"].iloc[0]


def test_fit_json_has_values_cis_and_goodness(tiny_run):
    work, _ = tiny_run
    fits = json.loads((work / "results/tiny/fits/fits.json").read_text())
    fit = fits["teacher/mlp"]
    assert fit["runs"] == N_SHARDS * N_SIZES * N_SEEDS * N_LRS and fit["excluded_diverged"] == 0
    power = fit["power"]
    beta = power["params"]["beta"]
    assert beta["value"] < 0
    lo, hi = beta["ci95"]
    assert lo <= beta["value"] <= hi
    assert power["goodness"]["points"] == N_SHARDS and power["goodness"]["r2_log"] > 0.8
    assert power["bootstrap"]["replicates"] == TINY_CONFIG["fit"]["bootstrap"]
    curve = pd.read_csv(work / "results/tiny/tables/learning_curve.csv")
    p = {k: v["value"] for k, v in power["params"].items()}
    pred = p["alpha"] * curve["n"] ** p["beta"] + p["gamma"]
    np.testing.assert_allclose(pred, curve["test_mean"], rtol=0.35)
    assert set(fit["size"]["params"]) == {"k", "beta_p"}
    assert power["regions"]["power_law_start"] == 64 and "mean_rel_error" in power["backtest"]


def test_joint_law_is_fitted_across_sizes_and_tabled(tiny_run):
    work, _ = tiny_run
    fit = json.loads((work / "results/tiny/fits/fits.json").read_text())["teacher/mlp"]
    assert fit["laws"] == TINY_CONFIG["fit"]["laws"]
    joint = fit["joint"]
    assert joint["inputs"] == ["m", "n"] and joint["goodness"]["points"] == N_SHARDS * N_SIZES
    alpha = joint["params"]["alpha"]
    assert alpha["value"] > 0 and alpha["ci95"][0] <= alpha["value"] <= alpha["ci95"][1]
    assert joint["plot"]["line_values"] == [4 * 4 + 4 + 4 * 4 + 4 + 5, 4 * 16 + 16 + 16 * 16 + 16 + 17]
    # its data are the error of every (size, shard) at that size's best learning rate
    sizes = pd.read_csv(work / "results/tiny/tables/sizes.csv")
    observed = dict(zip(zip(sizes["params"], sizes["n"]), sizes["test_mean"]))
    for (m, n), y in zip(joint["data"]["x"], joint["data"]["y"]):
        assert y == pytest.approx(observed[(m, n)])
    assert joint["backtest"]["axis"] == "n" and joint["backtest"]["splits"]
    table = pd.read_csv(work / "results/tiny/fits/laws.csv")
    assert set(table["law"]) == {"power", "size", "joint"}
    beta = table[(table["law"] == "power") & (table["param"] == "beta")].iloc[0]
    assert beta["value"] == pytest.approx(fit["power"]["params"]["beta"]["value"])


def test_figures_are_real_images(tiny_run):
    work, _ = tiny_run
    for fig in ("learning_curve", "error_vs_size", "best_size", "law_power", "law_size", "law_joint"):
        png = (work / f"results/tiny/figures/teacher.mlp.{fig}.png").read_bytes()
        pdf = (work / f"results/tiny/figures/teacher.mlp.{fig}.pdf").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
        assert pdf[:5] == b"%PDF-" and len(pdf) > 5_000


def test_rerun_has_nothing_to_do_and_report_builds(tiny_run):
    work, _ = tiny_run
    dry = snakemake(work, "-n")
    assert "Nothing to be done" in dry.stdout, dry.stdout[-2000:]
    snakemake(work, "--report", "results/tiny/report.html")
    html = (work / "results/tiny/report.html").read_text(errors="replace")
    assert "teacher.mlp.learning_curve.png" in html and "learning_curve.csv" in html
    assert "teacher.mlp.law_joint.png" in html and "laws.csv" in html


def test_a_study_too_small_to_fit_ends_with_what_was_not_fitted_and_fails(tmp_path):
    """Issue 25 item 7: one shard is too few for the power and size laws; the run keeps every
    output, but its last line names what was not fitted and why, and its status is not 0."""
    from conftest import make_checkout

    config = {
        **TINY_CONFIG,
        "study": "small",
        "shards": {"sizes": [64]},
        "training": {**TINY_CONFIG["training"], "learning_rates": [0.03], "max_steps": 100},
        "fit": {"bootstrap": 5, "laws": ["power", "size"]},
    }
    work = make_checkout(tmp_path, config)
    proc = snakemake(work, check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "scalinglaws: study incomplete (2 fit(s) missing, below): figures results/small/figures/" in proc.stdout
    assert "study done" not in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        "scalinglaws: not fitted: teacher/mlp: power: 1 point(s) for 3 parameters: a law needs more points "
        "than parameters (add shards or sizes); teacher/mlp: size: 1 point(s) for 2 parameters: a law needs "
        "more points than parameters (add shards or sizes)"
    )
    assert (work / "results/small/fits/fits.json").exists() and (work / "results/small/figures").is_dir()
