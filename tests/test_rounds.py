"""The study's own next round lands inside the prediction interval that `predict` gave before it
(issue 27), on the tiny study: `plan --data-factor 2 --next` proposes the round, `predict` gives
the PI at the shard it adds, and Snakemake trains only what the overlay adds.
benchmarks/next_rounds.py does the same for two rounds of the default study."""

import io
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import snakemake

pytestmark = pytest.mark.e2e


def scalinglaws(work, *args) -> str:
    env = {**os.environ, "PYTHONPATH": str(work / "workflow")}
    done = subprocess.run(
        [sys.executable, "-m", "scalinglaws", *args], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_planned_round_lands_inside_the_pi_predicted_before_it(tiny_run, tmp_path):
    work = tmp_path / "round"
    shutil.copytree(tiny_run[0], work, symlinks=True)  # the tiny study's results and store: only the round trains
    results = work / "results/tiny"
    before = pd.read_csv(results / "tables/learning_curve.csv")
    scalinglaws(work, "plan", str(results), "--data-factor", "2", "--next", "--out", "overlay.yaml")
    overlay = yaml.safe_load((work / "overlay.yaml").read_text())
    new = sorted(set(overlay["datasets"]["teacher"]["shards"]["sizes"]) - set(before["n"]))
    assert new, "the plan proposes a new shard"
    predicted = scalinglaws(work, "predict", str(results), "--at", ",".join(map(str, new)))
    pi = pd.read_csv(io.StringIO(predicted)).set_index("x")
    snakemake(work, "--configfile", "config.yaml", "overlay.yaml")
    after = pd.read_csv(results / "tables/learning_curve.csv").set_index("n")
    for n in new:
        point = after.loc[n, "test_mean"]
        assert pi.loc[n, "pi_low"] <= point <= pi.loc[n, "pi_high"], (n, point, pi.loc[n].to_dict())
