"""`scalinglaws predict`: the error at points never measured, with a CI and a prediction interval."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglaws.fit.external import TableSpec, fit_table
from scalinglaws.fit.predict import default_law
from scalinglaws.report.tables import write_outputs

WORKFLOW = str(Path(__file__).resolve().parents[1] / "workflow")
COLUMNS = ["group", "law", "x", "prediction", "ci_low", "ci_high", "pi_low", "pi_high"]


def predict(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": WORKFLOW}
    return subprocess.run(
        [sys.executable, "-m", "scalinglaws", "predict", *map(str, args)], capture_output=True, text=True, env=env
    )


@pytest.fixture(scope="module")
def fitted_table(tmp_path_factory):
    """Two groups of a power law, 3 runs per n, fitted by `scalinglaws fit`'s code path."""
    rng = np.random.default_rng(0)
    n = np.repeat(100 * 2.0 ** np.arange(8), 3)
    rows = [
        pd.DataFrame({"n": n, "task": task, "error": (a * n**-0.5 + 0.01) * np.exp(0.05 * rng.standard_normal(len(n)))})
        for task, a in (("easy", 1.0), ("hard", 4.0))
    ]
    folder = tmp_path_factory.mktemp("table")
    pd.concat(rows).to_csv(folder / "runs.csv", index=False)
    spec = TableSpec(folder / "runs.csv", ["power", "size"], ["n"], "error", group="task")
    write_outputs(fit_table(spec, replicates=30, seed=0), folder / "out", "runs")
    return folder / "out"


def test_predicts_measured_and_unmeasured_points_with_both_intervals(fitted_table):
    proc = predict(fitted_table, "--at", "1000,1e5,1e6", "--group", "hard", "--law", "power")
    assert proc.returncode == 0, proc.stderr
    rows = pd.read_csv(io.StringIO(proc.stdout))
    assert list(rows.columns[: len(COLUMNS)]) == COLUMNS and len(rows) == 3
    assert (rows["group"] == "hard").all() and (rows["law"] == "power").all()
    assert (rows["pi_low"] < rows["ci_low"]).all() and (rows["ci_low"] < rows["prediction"]).all()
    assert (rows["prediction"] < rows["ci_high"]).all() and (rows["ci_high"] < rows["pi_high"]).all()
    truth = 4.0 * rows["x"] ** -0.5 + 0.01
    assert (rows["ci_low"] < truth).all() and (truth < rows["ci_high"]).all()
    width = np.log(rows["ci_high"] / rows["ci_low"])
    assert width.iloc[2] > width.iloc[0]  # wider the further it extrapolates
    fits = json.loads((fitted_table / "fits.json").read_text())
    p = {k: v["value"] for k, v in fits["hard"]["power"]["params"].items()}
    np.testing.assert_allclose(rows["prediction"], p["alpha"] * rows["x"] ** p["beta"] + p["gamma"])


def test_defaults_every_group_and_the_selected_law_and_json(fitted_table):
    rows = pd.read_csv(io.StringIO(predict(fitted_table / "fits.json", "--at", "5000").stdout))
    fits = json.loads((fitted_table / "fits.json").read_text())
    assert list(rows["group"]) == ["easy", "hard"]
    assert list(rows["law"]) == [fits[g]["selection"][0]["law"] for g in ("easy", "hard")]
    out = json.loads(predict(fitted_table, "--at", "5000", "--format", "json").stdout)
    assert [r["prediction"] for r in out] == pytest.approx(list(rows["prediction"]))
    # without a selection, the first fitted law that takes as many inputs (the size law is no error law)
    assert default_law({"laws": ["size", "power", "joint"], "selection": []}, 1) == "power"
    assert default_law({"laws": ["power", "joint"], "selection": [{"law": "joint"}]}, 2) == "joint"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--at", "1e5", "--law", "nope"], "unknown law 'nope'"),
        (["--at", "1e5", "--law", "joint"], "group 'easy' has no law 'joint' (fitted: power, size)"),
        (["--at", "1e5", "--group", "medium"], "no group 'medium' (groups: easy, hard)"),
        (["--at", "-10"], "--at -10: outside the laws' domain"),
        (["--at", "ten"], "--at 'ten': not a number"),
        (["--at", "1e5", "--size", "100", "--law", "power"], "law 'power' takes one input (n): --size does not apply"),
        (["--at", "1e5", "--size", "100"], "group 'easy' has no fitted law with 2 input(s); name one with --law"),
    ],
)
def test_bad_requests_get_one_line(fitted_table, args, message):
    proc = predict(fitted_table, *args)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_fits_from_an_incompatible_version_are_refused(fitted_table, tmp_path):
    fits = json.loads((fitted_table / "fits.json").read_text())
    for group in fits.values():
        for law in group["laws"]:
            del group[law]["predict"]
    (tmp_path / "fits.json").write_text(json.dumps(fits))
    proc = predict(tmp_path / "fits.json", "--at", "1e5")
    assert proc.returncode == 2 and "incompatible version" in proc.stderr
    assert "no fits.json there" in predict(tmp_path / "nothing", "--at", "1e5").stderr


@pytest.mark.e2e
def test_predict_on_a_study_folder_for_the_curve_and_the_joint_law(tiny_run):
    work, _ = tiny_run
    results = work / "results/tiny"
    rows = pd.read_csv(io.StringIO(predict(results, "--at", "1e4").stdout))
    assert list(rows["group"]) == ["teacher/mlp"] and rows["law"][0] == "power" and rows["beyond_data"][0] > 9
    proc = predict(results, "--at", "2048", "--size", "45,369")
    assert proc.returncode == 0, proc.stderr
    joint = pd.read_csv(io.StringIO(proc.stdout))
    assert list(joint["law"]) == ["joint", "joint"] and list(joint["size"]) == [45, 369]
    assert joint["prediction"][1] < joint["prediction"][0]  # the larger model errs less
    fit = json.loads((results / "fits/fits.json").read_text())["teacher/mlp"]
    assert fit["best_guess"] > 0 and fit["joint"]["params"]["eps0"]["fixed"]
    assert fit["joint"]["params"]["eps0"]["value"] == pytest.approx(fit["best_guess"])


def test_a_fit_where_one_group_failed_predicts_the_others_and_exits_3(tmp_path):
    """Issue 25 item 3: the default law gave `KeyError: None`, and `--law power` predicted none
    of the groups; now every fitted group is predicted and the failed one is named."""
    n = np.repeat(100 * 2.0 ** np.arange(8), 2)
    rng = np.random.default_rng(1)
    good = pd.DataFrame(
        {"n": n, "task": "good", "error": (n**-0.5 + 0.01) * np.exp(0.05 * rng.standard_normal(len(n)))}
    )
    few = pd.DataFrame({"n": [100.0, 200.0], "task": "few", "error": [0.5, 0.4]})  # too few points to fit
    pd.concat([good, few]).to_csv(tmp_path / "runs.csv", index=False)
    for laws in (["auto"], ["power"]):  # the group fails as a whole / its one law fails
        fits = fit_table(TableSpec(tmp_path / "runs.csv", laws, ["n"], "error", group="task"), replicates=10, seed=0)
        write_outputs(fits, tmp_path / "out", "runs", figures=False)
        assert "error" in (fits["few"] if laws == ["auto"] else fits["few"]["power"])
        for args in ([], ["--law", "power"]):
            proc = predict(tmp_path / "out", "--at", "1e5", *args)
            assert proc.returncode == 3, proc.stderr
            rows = pd.read_csv(io.StringIO(proc.stdout))
            assert list(rows["group"]) == ["good"] and list(rows["law"]) == ["power"]
            assert "1 group(s) not predicted" in proc.stderr and "'few' was not fitted: " in proc.stderr
            assert "Traceback" not in proc.stderr
    proc = predict(tmp_path / "out", "--at", "1e5", "--group", "few")  # asked for by name: an error
    assert proc.returncode == 2 and "group 'few' was not fitted" in proc.stderr
