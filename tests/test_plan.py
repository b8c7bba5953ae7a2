"""`scalinglaws plan`: targets, what more data buys, budgets and the next round, from real fits
(`scalinglaws fit` on tables with a known truth, and the tiny study), and a real rerun."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from snakemake.utils import update_config

from conftest import TINY_CONFIG, job_counts, snakemake
from scalinglaws.fit.external import TableSpec, fit_table
from scalinglaws.fit.laws import make_law
from scalinglaws.fit.predict import predict_rows
from scalinglaws.plan import (
    Context,
    Grid,
    Knob,
    Protocol,
    Throughput,
    budget_split,
    data_factor_table,
    load_curve,
    propose_next,
    target_error,
)
from scalinglaws.plan.overlay import make_overlay, merge, rerun
from scalinglaws.report.tables import write_outputs
from scalinglaws.study import Study

WORKFLOW = str(Path(__file__).resolve().parents[1] / "workflow")
A, BETA, GAMMA = 4.0, -0.5, 0.01  # the truth: eps(n) = 4 n^-0.5 + 0.01
K, BETA_P = 2.0, 0.5  # best size s(n) = 2 n^0.5
SHARDS = [100 * 2**i for i in range(12)]  # to 204,800, where the error is within 2x of gamma


def plan(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": WORKFLOW}
    return subprocess.run(
        [sys.executable, "-m", "scalinglaws", "plan", *map(str, args)], capture_output=True, text=True, env=env
    )


def truth(n):
    return A * np.asarray(n, float) ** BETA + GAMMA


def fits_for(shards, folder: Path, seed: int = 0, replicates: int = 40) -> dict:
    """`scalinglaws fit` of 3 noisy runs per shard (power), and of the best sizes (size)."""
    rng = np.random.default_rng(seed)
    n = np.repeat(np.array(shards, float), 3)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"n": n, "error": truth(n) * np.exp(0.05 * rng.standard_normal(len(n)))}).to_csv(
        folder / "runs.csv", index=False
    )
    pd.DataFrame({"n": n, "best": K * n**BETA_P * np.exp(0.05 * rng.standard_normal(len(n)))}).to_csv(
        folder / "sizes.csv", index=False
    )
    fits = fit_table(TableSpec(folder / "runs.csv", ["power"], ["n"], "error"), replicates, seed)
    sizes = fit_table(TableSpec(folder / "sizes.csv", ["size"], ["n"], "best"), replicates, seed)
    fits["all"]["size"], fits["all"]["laws"] = sizes["all"]["size"], ["power", "size"]
    write_outputs(fits, folder, "runs", figures=False)
    return fits


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan")
    return folder, fits_for(SHARDS, folder)


def params_of(fits: dict, law: str) -> dict:
    return {k: v["value"] for k, v in fits["all"][law]["params"].items()}


def test_target_error_inverts_the_fit_and_its_interval_holds_the_truth(fitted):
    folder, fits = fitted
    ctx = Context(load_curve(folder, fits, None, None), Protocol(epochs=3))
    out = target_error(ctx, 0.03)
    p, q = params_of(fits, "power"), params_of(fits, "size")
    n_hat = ((0.03 - p["gamma"]) / p["alpha"]) ** (1 / p["beta"])
    assert out["status"] == "already reached"  # n = 40,000 is inside the shards (to 204,800): no extrapolation
    assert out["n"]["value"] == pytest.approx(n_hat, rel=1e-6)
    lo, hi = out["n"]["ci95"]
    n_true = ((0.03 - GAMMA) / A) ** (1 / BETA)  # 40,000
    assert lo < n_hat < hi and lo < n_true < hi and hi / lo < 10
    assert out["params"]["value"] == pytest.approx(q["k"] * n_hat ** q["beta_p"], rel=1e-6)
    assert out["params"]["ci95"][0] < K * n_true**BETA_P < out["params"]["ci95"][1]
    # FLOPs: 6 x params x 3 passes over n, for the same n and size
    assert out["flops"]["value"] == pytest.approx(6 * out["params"]["value"] * 3 * n_hat, rel=1e-6)
    assert "knob" not in out and out["hours"] == []  # a table has no size knob and no timings


def test_a_target_below_the_irreducible_errors_ci_is_not_reachable(fitted):
    folder, _ = fitted
    proc = plan(folder, "--target-error", "0.001")
    assert proc.returncode == 4, proc.stderr  # its own exit status (issue 25 item 5), documented in the help
    assert "target error 0.001: not reachable (the target 0.001 is below the irreducible error's 95% CI" in proc.stdout
    out = json.loads(plan(folder, "--target-error", "0.001", "--format", "json").stdout)["target"]
    assert out["status"] == "not reachable" and out["irreducible"]["ci95"][0] > 0.001 and "n" not in out


def test_plan_at_its_edges_answers_reached_below_the_smallest_run_and_no_round(fitted, tmp_path):
    """Issue 25 item 5: a target above every measured error answered "reachable, n: 1 [1, 1]", a
    tiny budget n = 1, and --next for a target inside the data proposed a round that narrows nothing."""
    import argparse

    from scalinglaws.plan.command import next_round

    folder, fits = fitted
    ctx = Context(load_curve(folder, fits, None, None), Protocol(epochs=1))
    above = target_error(ctx, 5.0)  # above the error of the smallest shard (n = 100: 0.41)
    assert above["status"] == "already reached" and above["n"] == {"value": 100.0, "ci95": [100.0, 100.0]}
    assert above["reason"].startswith("at n = 100, the smallest shard: the fit's error there is 0.4")
    inside = target_error(ctx, 0.05)  # n = 10,000 in truth, between the shards
    assert inside["status"] == "already reached" and 100 < inside["n"]["value"] < SHARDS[-1]
    assert "inside the measured shards (100 to 2.048e+05)" in inside["reason"]
    assert target_error(ctx, 0.015)["status"] == "reachable"  # 640,000 in truth: beyond the data
    small = budget_split(ctx, 1e3)
    assert small["status"] == "below the smallest run" and "n" not in small
    assert small["reason"].startswith("one run on the smallest shard, n = 100, at its best size")
    args = argparse.Namespace(data_factor=None, round_factor=1.0, out=tmp_path / "overlay.yaml", configfile=None)
    none = next_round(args, ctx, Study(TINY_CONFIG), None, {"target": inside})
    assert none["shards"] == [] and none["inside_data"] and "inside the measured shards" in none["reason"]
    assert not (tmp_path / "overlay.yaml").exists()  # no round, no overlay
    proc = plan(folder, "--target-error", "5", "--budget", "1e3")
    assert proc.returncode == 0, proc.stderr
    assert "-- target error 5: already reached at n = 100, the smallest shard" in proc.stdout
    assert "-- budget 1e+03 FLOPs for one run: below the smallest run (one run on the smallest shard" in proc.stdout


def test_data_factor_table_matches_predict_and_widens(fitted):
    folder, fits = fitted
    ctx = Context(load_curve(folder, fits, None, None))
    table = data_factor_table(ctx, (2, 4, 10, 100))
    rows = predict_rows(folder / "fits.json", fits, table["n"].to_numpy(), "power")
    assert list(table["n"]) == [k * SHARDS[-1] for k in (2, 4, 10, 100)]
    for col in ("prediction", "ci_low", "ci_high", "pi_low", "pi_high"):
        np.testing.assert_allclose(table[col], rows[col], rtol=1e-12)
    assert ((table["pi_low"] < table["ci_low"]) & (table["ci_high"] < table["pi_high"])).all()
    assert np.all(np.diff(np.log(table["ci_high"] / table["ci_low"])) > 0)  # wider the further out
    q = params_of(fits, "size")
    np.testing.assert_allclose(table["best_params"], q["k"] * table["n"] ** q["beta_p"], rtol=1e-9)
    pd.testing.assert_frame_equal(data_factor_table(fits, (2, 4, 10, 100)), table)  # a report passes the fits
    assert (table["best_params_low"] < table["best_params"]).all() and (
        table["best_params"] < table["best_params_high"]
    ).all()


def test_plan_reads_the_combined_prediction_as_predict_does(tmp_path):
    """Issue 24: a curve with a sharp bend among its last points (power plus constant misses it,
    the combination weighs the bend-capable laws): plan's error at n is predict's combined
    prediction, --law power still gives power alone, a target's n solves the combined estimate,
    and the best size is the size law's."""
    bend = {"a": 0.0, "b": 5.0, "c0": 0.1, "c1": 0.6, "d1": 3e5, "f1": 0.1}
    n = 100 * 2.0 ** np.arange(14)
    rng = np.random.default_rng(1)
    y = make_law("bnsl")._f(n[:, None], bend) * np.exp(0.01 * rng.standard_normal(len(n)))
    pd.DataFrame({"n": n, "error": y}).to_csv(tmp_path / "runs.csv", index=False)
    pd.DataFrame({"n": n, "best": K * n**BETA_P * np.exp(0.05 * rng.standard_normal(len(n)))}).to_csv(
        tmp_path / "sizes.csv", index=False
    )
    fits = fit_table(TableSpec(tmp_path / "runs.csv", ["auto"], ["n"], "error"), 20, 0)
    sizes = fit_table(TableSpec(tmp_path / "sizes.csv", ["size"], ["n"], "best"), 20, 0)
    fits["all"]["size"], fits["all"]["laws"] = sizes["all"]["size"], [*fits["all"]["laws"], "size"]
    write_outputs(fits, tmp_path, "runs", figures=False)
    fits = json.loads((tmp_path / "fits.json").read_text())
    out = json.loads(plan(tmp_path, "--data-factor", "2,4", "--format", "json").stdout)
    assert out["law"].startswith("combined (") and "bnsl" in out["law"] and "combined" in out
    assert "part beyond" in fits["all"]["combination"][0]["warning"]  # where the laws part, one warning says so
    at = np.array([2.0, 4.0]) * n[-1]
    rows = predict_rows(tmp_path / "fits.json", fits, at)
    alone = predict_rows(tmp_path / "fits.json", fits, at, "power")
    assert (rows["law"] == out["law"]).all()
    for col in ("prediction", "ci_low", "ci_high", "pi_low", "pi_high"):
        np.testing.assert_allclose([r[col] for r in out["data_factor"]], rows[col], rtol=1e-9)
    assert (np.abs(np.log(rows["prediction"] / alone["prediction"])) > 0.2).all()  # the two differ by far
    one = Context(load_curve(tmp_path, fits, None, "power"))
    np.testing.assert_allclose(data_factor_table(one, (2, 4))["prediction"], alone["prediction"], rtol=1e-12)
    ctx = Context(load_curve(tmp_path, fits, None, None), Protocol(epochs=1))
    target = target_error(ctx, 0.5 * y[-1])
    assert target["law"] == out["law"] and target["status"] == "reachable"
    assert ctx.curve.error_estimate(target["n"]["value"]) == pytest.approx(0.5 * y[-1], rel=1e-6)
    q = params_of(fits, "size")
    assert target["params"]["value"] == pytest.approx(q["k"] * target["n"]["value"] ** q["beta_p"], rel=1e-6)


def test_budget_split_spends_the_budget_at_the_best_size(fitted):
    folder, fits = fitted
    ctx = Context(load_curve(folder, fits, None, None), Protocol(epochs=1))
    out = budget_split(ctx, 1e12)
    q = params_of(fits, "size")
    n = (1e12 / (6 * q["k"])) ** (1 / (1 + q["beta_p"]))  # 6 k n^beta_p n = budget
    assert out["n"]["value"] == pytest.approx(n, rel=1e-6) and out["flops"] == pytest.approx(1e12, rel=1e-6)
    assert out["error"]["prediction"] == pytest.approx(float(truth(n)), rel=0.1)


def test_next_rounds_converge_on_the_target(tmp_path):
    """plan -> run -> plan: each round proposes the next shards of the 2x schedule toward the
    target's n; the measured interval at the target narrows as they are added."""
    shards, proposed, widths = list(SHARDS[:6]), [], []
    target_n = ((0.02 - GAMMA) / A) ** (1 / BETA)  # 160,000 in truth
    for round_ in range(3):
        fits = fits_for(shards, tmp_path / str(round_), seed=round_)
        ctx = Context(load_curve(tmp_path, fits, None, "power"), Protocol(epochs=1))
        iv = ctx.curve.predict([target_n])
        widths.append(float(np.log(iv["pi_high"][0] / iv["pi_low"][0])))
        out = propose_next(ctx, Grid(shards, [1]), target_n)
        steps = np.log2(np.array(out["shards"]) / max(shards))
        assert len(steps) and (steps >= 1).all() and np.allclose(steps, np.round(steps))  # the 2x schedule continued
        assert out["after"]["pi"][1] / out["after"]["pi"][0] < out["now"]["pi"][1] / out["now"]["pi"][0]
        assert max(out["shards"]) <= 2 * target_n
        proposed.append(max(out["shards"]))
        shards += out["shards"]
    assert proposed == sorted(proposed) and proposed[-1] >= 4 * proposed[0]
    assert widths[-1] < widths[0]


def test_the_overlay_merges_as_snakemake_merges_and_adds_only_new_jobs(tmp_path):
    study = Study(TINY_CONFIG)
    overlay = make_overlay(study, "teacher/mlp", [2048], [64])
    assert overlay == {
        "datasets": {"teacher": {"shards": {"sizes": [64, 128, 256, 512, 1024, 2048]}}},
        "models": {"mlp": {"sizes": [4, 16, 64]}},
    }
    expected = json.loads(json.dumps(TINY_CONFIG))
    update_config(expected, overlay)  # Snakemake's own merge of configfiles
    assert merge(TINY_CONFIG, overlay) == expected
    after, jobs = rerun(study, overlay, tmp_path)  # an empty store: everything is missing
    assert set(study.jobs) < set(after.jobs) and len(after.jobs) - len(study.jobs) == 1 * 3 + 5 * 1
    assert jobs == {"shard": 6, "train": 18, "labels": 1, "aggregate": 1, "fit": 1, "figures": 1, "all": 1}
    own = json.loads(json.dumps(TINY_CONFIG))
    own["datasets"]["teacher"]["shards"] = {"min": 64, "max": 512}
    with pytest.raises(ValueError, match="datasets.teacher.shards: a min/max schedule of the dataset's own"):
        make_overlay(Study(own), "teacher/mlp", [2048], [])


GOLDEN_FITS = Path(__file__).parent / "data" / "golden" / "tiny_fits.json"


def test_a_size_law_its_own_checks_reject_gives_no_growth_and_the_measured_sizes(fitted):
    """Issue 25 item 4: the default study's size law (beta_p 0.18, CI -0.27 to 0.78, backtest
    off by 3148%) was called sub-linear and planned with. A size law whose growth is not measured
    gives way to the measured best sizes, with their spread, and the summary says so in words."""
    from scalinglaws.fit.laws import SizeLaw
    from scalinglaws.report.summary import law_sentences

    assert SizeLaw.unresolved({"beta_p": 0.18}, {"beta_p": [-0.27, 0.78]}, {"mean_rel_error": 0.2}).startswith(
        "beta_p = 0.18, its 95% CI [-0.27, 0.78] reaches 0"
    )
    assert "by 3148% on average" in SizeLaw.unresolved(
        {"beta_p": 0.5}, {"beta_p": [0.3, 0.7]}, {"mean_rel_error": 31.48}
    )
    assert SizeLaw.unresolved({"beta_p": 0.5}, {"beta_p": [0.3, 0.7]}, {"mean_rel_error": 0.2}) is None
    folder, fits = fitted
    assert load_curve(folder, fits, None, None).size_note is None  # a measured growth (the truth's n^0.5) is kept
    golden = json.loads(GOLDEN_FITS.read_text())  # the tiny study: its size law's backtest is off by 436%
    curve = load_curve(GOLDEN_FITS, golden, None, "power")
    measured = golden["teacher/mlp"]["size"]["data"]["y"]
    assert curve.size_note.startswith("the best size does not change measurably over this range of n")
    table = data_factor_table(Context(curve), (2, 100))
    assert list(table["best_params"]) == [np.median(measured)] * 2  # the same at 2x and 100x the data
    assert table["best_params_low"].min() >= min(measured) and table["best_params_high"].max() == max(measured)
    words = " ".join(law_sentences(golden["teacher/mlp"], "test MSE"))
    assert "The best size does not change measurably over this range of n" in words and "grows" not in words


def golden_study(root: Path, checkout_config: dict, recorded: list[tuple[str, dict]] | None) -> Path:
    """A checkout at `root` whose results/tiny are the golden tiny study's, made with the config
    files `recorded` ((name, content) in order; None: no record, as results made before it)."""
    from scalinglaws.plan.record import write_record

    (root / "results/tiny/fits").mkdir(parents=True)
    (root / "results/tiny/tables").mkdir()
    shutil.copy(GOLDEN_FITS, root / "results/tiny/fits/fits.json")
    shutil.copy(GOLDEN_FITS.with_name("tiny_runs.csv"), root / "results/tiny/tables/runs.csv")
    (root / "config.yaml").write_text(yaml.safe_dump(checkout_config))
    if recorded:
        config: dict = {}
        for name, part in recorded:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(yaml.safe_dump(part))
            config = merge(config, part)
        write_record(root / "results/tiny", [name for name, _ in recorded], config, Study(config).config_hash)
    return root


def test_plan_reads_the_config_files_the_results_were_made_with(tmp_path):
    """Issue 25 items 2 and 6: plan used the checkout's config.yaml although the results came
    from another --configfile, and printed `snakemake --configfile config.yaml overlay.yaml`, which
    stops with "cores have to be specified". Now it reads the config files recorded with the
    results, prints a command that runs as it is with them, and refuses a config the results were
    not made with."""
    other = {**TINY_CONFIG, "shards": {"min": 64, "max": 512, "factor": 2}}  # the checkout's: not these results'
    root = golden_study(tmp_path / "a", other, [("studies/tiny.yaml", TINY_CONFIG)])
    args = ["--target-error", "0.016", "--next", "--out", root / "overlay.yaml", "--format", "json"]
    proc = subprocess.run(
        [sys.executable, "-m", "scalinglaws", "plan", "results/tiny", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": WORKFLOW},
    )
    assert proc.returncode == 0, proc.stderr
    nxt = json.loads(proc.stdout)["next"]
    assert min(nxt["shards"]) == 2048  # past the results' largest shard (1024), not the checkout config's (512)
    assert nxt["command"] == "snakemake --cores all --configfile studies/tiny.yaml overlay.yaml"
    assert f"# run: {nxt['command']}" in (root / "overlay.yaml").read_text()
    elsewhere = plan(root / "results/tiny", *args)  # from another folder: it says where to run it
    assert json.loads(elsewhere.stdout)["next"]["command"] == (
        f"cd {root} && snakemake --cores all --configfile studies/tiny.yaml overlay.yaml"
    )
    old = golden_study(tmp_path / "b", other, None)  # no record: the checkout's config.yaml, which does not fit
    proc = plan(old / "results/tiny", "--target-error", "0.016")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "the shards of teacher/mlp (64, 128, 256, 512, 1024) are not those of " in proc.stderr
    assert "these results were made with other config files; give those with --configfile" in proc.stderr
    (root / "studies/tiny.yaml").write_text(yaml.safe_dump(other))  # edited since the results were made
    proc = plan(root / "results/tiny", *args)
    assert proc.returncode == 2 and "have changed or are gone since" in proc.stderr


def test_a_round_costs_only_the_jobs_the_store_does_not_hold(tmp_path):
    """Issue 25 item 6: a job another study (sharing the store) trained already counted as cost."""
    from scalinglaws.plan.overlay import Stored

    study = Study({**TINY_CONFIG, "store": str(tmp_path / "store")})
    stored = Stored(study, "teacher/mlp", tmp_path)
    after = Study(merge(study.config, make_overlay(study, "teacher/mlp", [2048], [])))
    (key,) = [k for k, job in after.jobs.items() if (job.size, job.n) == (4, 2048)]
    Path(after.job_file(key)).parent.mkdir(parents=True)
    Path(after.job_file(key)).write_text("{}")  # trained by someone else
    assert stored([(4, 2048), (16, 2048), (16, 1024)]) == {(4, 2048)}
    golden = json.loads(GOLDEN_FITS.read_text())
    runs = pd.read_csv(GOLDEN_FITS.with_name("tiny_runs.csv"))
    ctx = Context.from_fits(golden, None, "power", study, runs)
    with_store = propose_next(ctx, Grid([64, 128, 256, 512, 1024], [4, 16], stored=stored), 2048)
    without = propose_next(ctx, Grid([64, 128, 256, 512, 1024], [4, 16]), 2048)
    first = without["steps"][0]
    assert first["shard"] == 2048 and with_store["steps"][0]["shard"] == 2048
    size4 = ctx.protocol.members * ctx.protocol.flops(ctx.knob.params_of(4), 2048)
    assert with_store["steps"][0]["flops"] == pytest.approx(first["flops"] - size4)


JOINT = {"a": 4.0, "alpha": 0.5, "b": 50.0, "beta": 0.6, "c_inf": 0.01}  # eps(m, n) = a n^-alpha + b m^-beta + c_inf


@pytest.fixture(scope="module")
def joint_fit(tmp_path_factory):
    """`scalinglaws fit` of joint-additive to 2 noisy runs per (m, n) of a known truth."""
    rng = np.random.default_rng(1)
    m, n = np.meshgrid(1000 * 2.0 ** np.arange(5), 100 * 2.0 ** np.arange(10))
    m, n = np.repeat(m.ravel(), 2), np.repeat(n.ravel(), 2)
    t = JOINT
    error = (t["a"] * n ** -t["alpha"] + t["b"] * m ** -t["beta"] + t["c_inf"]) * np.exp(
        0.03 * rng.standard_normal(len(n))
    )
    folder = tmp_path_factory.mktemp("joint")
    pd.DataFrame({"m": m, "n": n, "error": error}).to_csv(folder / "runs.csv", index=False)
    return folder, fit_table(TableSpec(folder / "runs.csv", ["joint-additive"], ["m", "n"], "error"), 40, 0)


def test_joint_law_target_size_budget_and_gpu_hours(joint_fit):
    """At the best size (within 5% of an infinite model), eps = 1.05 (a n^-alpha + c_inf)."""
    folder, fits = joint_fit
    runs = pd.DataFrame(
        {
            "job_key": ["j1", "j1", "j2"],
            "flops": [1e12, 1e12, 1e11],
            "wall_time_s": [4.0, 4.0, 1.0],
            "device": "cuda",
            "params": [1000, 1000, 10],
        }
    )
    ctx = Context(load_curve(folder, fits, None, None), Protocol(epochs=1), throughput=Throughput.measured(runs))
    assert ctx.curve.name == "joint-additive" and ctx.throughput[0].flops_per_s == 5e11  # the largest model's jobs
    p = params_of(fits, "joint-additive")
    out = target_error(ctx, 0.05)
    n_hat = ((0.05 / 1.05 - p["c_inf"]) / p["a"]) ** (-1 / p["alpha"])
    m_hat = (p["b"] / (0.05 * (p["a"] * n_hat ** -p["alpha"] + p["c_inf"]))) ** (1 / p["beta"])
    assert out["n"]["value"] == pytest.approx(n_hat, rel=1e-6) and out["params"]["value"] == pytest.approx(
        m_hat, rel=1e-6
    )
    t = JOINT
    n_true = ((0.05 / 1.05 - t["c_inf"]) / t["a"]) ** (-1 / t["alpha"])
    assert out["n"]["ci95"][0] < n_true < out["n"]["ci95"][1]
    hours = out["hours"][0]
    assert hours["gpu"] and hours["value"] == pytest.approx(6 * m_hat * n_hat / 5e11 / 3600, rel=1e-6)
    budget = budget_split(ctx, 1e13)  # minimise a n^-alpha + b m^-beta with 6 m n = budget
    n_opt = (p["alpha"] * p["a"] * (1e13 / 6) ** p["beta"] / (p["beta"] * p["b"])) ** (1 / (p["alpha"] + p["beta"]))
    assert budget["n"]["value"] == pytest.approx(n_opt, rel=1e-4)
    assert budget["params"]["value"] == pytest.approx(1e13 / (6 * n_opt), rel=1e-4)


def test_next_for_a_joint_law_measures_every_size_of_a_new_shard(joint_fit):
    folder, fits = joint_fit
    sizes = [1000 * 2**i for i in range(5)]
    knob = Knob(tuple(map(float, sizes)), tuple(map(float, sizes)))  # the knob is the parameter count
    ctx = Context(load_curve(folder, fits, None, None), Protocol(epochs=1), knob)
    shards = [100 * 2**i for i in range(10)]
    out = propose_next(ctx, Grid(shards, sizes), 8 * shards[-1])
    first = out["steps"][0]
    new_sizes = len(first["sizes"])  # a new size is trained on every shard, old and new
    assert first["shard"] == 2 * shards[-1] and first["jobs"] == (len(sizes) + new_sizes) + new_sizes * len(shards)
    assert out["after"]["pi"][1] / out["after"]["pi"][0] < out["now"]["pi"][1] / out["now"]["pi"][0]
    assert out["flops"] == pytest.approx(sum(s["flops"] for s in out["steps"]))
    with pytest.raises(ValueError, match="needs the parameter counts"):
        propose_next(Context(ctx.curve), Grid(shards, sizes), 8 * shards[-1])


@pytest.mark.parametrize(
    "args,message",
    [
        (["--next"], "--next needs the study's config (--configfile)"),
        (["--data-factor", "0"], "--data-factor 0: outside the laws' domain"),
        (["--group", "nope"], "no group 'nope' (groups: all)"),
        (["--law", "chinchilla"], "--law chinchilla: a plan reads a learning-curve law (power, power-pure,"),
        (["--budget", "-1"], "--budget -1.0: must be a positive number of FLOPs"),
        (["--round-factor", "0"], "--round-factor 0: must be a positive number"),
    ],
)
def test_bad_requests_get_one_line(fitted, args, message):
    proc = plan(fitted[0], *args)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.e2e
def test_next_overlay_reruns_exactly_the_new_jobs(tiny_run, tmp_path):
    """The tiny study, planned toward an error below its last shard's: the overlay is valid, the
    command the plan prints runs as printed (issue 25 item 2) and runs exactly the jobs the plan
    announced, and a second run has nothing to do. The next plan reads the config files the
    results were made with (config.yaml and the overlay, recorded by the run)."""
    work = tmp_path / "checkout"
    shutil.copytree(tiny_run[0], work, symlinks=True)
    config = yaml.safe_load((work / "config.yaml").read_text())

    def plan_here(*args):
        env = {**os.environ, "PYTHONPATH": WORKFLOW}
        cmd = [sys.executable, "-m", "scalinglaws", "plan", "results/tiny", *args, "--format", "json"]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)

    proc = plan_here("--target-error", "0.016", "--next", "--out", "overlay.yaml")
    assert proc.returncode == 0, proc.stderr
    nxt = json.loads(proc.stdout)["next"]
    new_shards, new_sizes = nxt["shards"], nxt["sizes"]
    assert new_shards and min(new_shards) == 2048  # the 2x schedule continued past 1024
    assert nxt["command"] == "snakemake --cores all --configfile config.yaml overlay.yaml"
    overlay = yaml.safe_load((work / "overlay.yaml").read_text())
    sizes = overlay.get("models", {}).get("mlp", {}).get("sizes", config["models"]["mlp"]["sizes"])
    assert overlay["datasets"]["teacher"]["shards"]["sizes"] == [64, 128, 256, 512, 1024, *new_shards]
    trains = len(new_shards) * len(sizes) + 5 * len(new_sizes)
    expected = {
        "shard": len(new_shards),
        "train": trains,
        "labels": 1,
        "aggregate": 1,
        "fit": 1,
        "figures": 1,
        "all": 1,
    }
    assert nxt["rerun_jobs"] == expected
    run = subprocess.run(nxt["command"], shell=True, cwd=work, capture_output=True, text=True)  # as printed
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert job_counts(run.stdout + run.stderr) == expected
    fits = json.loads((work / "results/tiny/fits/fits.json").read_text())["teacher/mlp"]
    assert fits["shards"] == [64, 128, 256, 512, 1024, *new_shards]
    again = snakemake(work, "--configfile", "config.yaml", "overlay.yaml", "-n")
    assert job_counts(again.stdout) == {} and "Nothing to be done" in again.stdout
    record = yaml.safe_load((work / "results/tiny/configfiles.yaml").read_text())
    assert record["configfiles"] == ["config.yaml", "overlay.yaml"]
    # the next round reads the recorded config files (no --configfile) and continues past the new shards
    proc = plan_here("--data-factor", "4", "--next", "--out", "overlay2.yaml")
    assert proc.returncode == 0, proc.stderr
    nxt = json.loads(proc.stdout)["next"]
    assert min(nxt["shards"]) == 2 * max(new_shards)
    assert nxt["command"] == "snakemake --cores all --configfile config.yaml overlay.yaml overlay2.yaml"
