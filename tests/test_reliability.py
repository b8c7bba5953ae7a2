"""Faults with real processes and signals: nothing partial is taken as done, reruns complete
with the same numbers, damaged stored files are recomputed, bad input gets one clear line."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import TINY_CONFIG, job_counts, make_checkout, snakemake

pytestmark = pytest.mark.e2e

SLOW = copy.deepcopy(TINY_CONFIG)
SLOW.update(study="slow")
SLOW["shards"] = {"sizes": [256, 512, 1024]}  # 3 points: enough for the size law (issue 25: more than 2)
SLOW["models"]["mlp"]["sizes"] = [32]
SLOW["training"].update(min_steps=2000, max_steps=2000, patience=1000)  # a few seconds per job
SLOW["fit"] = {"bootstrap": 50, "laws": ["size"]}


def runs_table(work: Path, study: str) -> pd.DataFrame:
    """runs.csv less what differs between machines and studies (timing, the config's hash)."""
    return pd.read_csv(work / f"results/{study}/tables/runs.csv").drop(columns=["wall_time_s", "config_hash"])


def train_pids(work: Path) -> list[int]:
    """Training processes running in `work` (not, say, another test suite's on this machine)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
                if Path(os.readlink(proc / "cwd")) != work.resolve():
                    continue
            except OSError:
                continue
            if b"-m scalinglaws train" in cmd and b"/bin/sh" not in cmd and b"bash" not in cmd:
                pids.append(int(proc.name))
    return pids


def start(work: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "1"],
        cwd=work,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_training(work: Path, timeout: float = 180) -> int:
    """PID of a training process in `work` once its log says the step loop has started."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        started = any("training" in log.read_text() for log in (work / "results/store/runs").glob("*/log.txt"))
        pids = train_pids(work)
        if started and pids:
            return pids[0]
        time.sleep(0.02)
    raise AssertionError("no training process appeared")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The slow study run without interruption: the numbers every faulty run must reproduce."""
    work = make_checkout(tmp_path_factory.mktemp("reference"), SLOW)
    snakemake(work)
    return runs_table(work, "slow")


def test_sigkill_of_a_training_job(reference, tmp_path):
    work = make_checkout(tmp_path, SLOW)
    proc = start(work)
    os.kill(wait_for_training(work), signal.SIGKILL)
    proc.wait(timeout=300)
    assert proc.returncode != 0  # the killed job failed the run
    records = list((work / "results/store/runs").glob("*/metrics.json"))
    assert len(records) < 3  # the killed job left no record behind
    assert not list((work / "results/store/runs").glob("*/.metrics.json*"))  # nor a temporary one
    snakemake(work)
    pd.testing.assert_frame_equal(runs_table(work, "slow"), reference)  # same numbers, bit for bit


def test_sigkill_of_snakemake_itself(reference, tmp_path):
    work = make_checkout(tmp_path, SLOW)
    proc = start(work)
    wait_for_training(work)
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and the jobs it started
    proc.wait(timeout=60)
    assert not (work / "results/slow/tables/runs.csv").exists()
    snakemake(work, "--unlock")  # Snakemake's own lock survives a SIGKILL
    snakemake(work)
    pd.testing.assert_frame_equal(runs_table(work, "slow"), reference)


def test_sigterm_checkpoints_and_the_rerun_resumes(reference, tmp_path):
    work = make_checkout(tmp_path, SLOW)
    proc = start(work)
    pid = wait_for_training(work)  # past the imports, inside the training loop
    os.kill(pid, signal.SIGTERM)  # what SLURM sends at a time limit or on preemption
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode != 0
    checkpoints = list((work / "results/store/runs").glob("*/checkpoint.pt"))
    assert len(checkpoints) == 1  # saved by the stopped job
    job_dir = checkpoints[0].parent
    assert not (job_dir / "metrics.json").exists()  # and not taken as done
    assert "stopped by SIGTERM at step" in (job_dir / "log.txt").read_text()
    snakemake(work)
    record = json.loads((job_dir / "metrics.json").read_text())
    assert record["timing"]["train_ensemble"]["resumed_from_step"] > 0  # resumed, not restarted
    assert not (job_dir / "checkpoint.pt").exists()
    pd.testing.assert_frame_equal(runs_table(work, "slow"), reference)  # same numbers as uninterrupted


def test_damaged_stored_files_are_recomputed_not_reused(tiny_run, tmp_path):
    work, _ = tiny_run
    before = runs_table(work, "tiny")
    records = sorted((work / "results/store/runs").glob("*/metrics.json"))
    text = records[0].read_text()
    records[0].write_text(text[: len(text) // 2])  # truncated
    records[1].write_bytes(b"\x00" + records[1].read_bytes()[1:])  # a flipped byte
    data = json.loads(records[2].read_text())
    data["runs"][0]["test_metric"] *= 0.5  # silently altered numbers
    records[2].write_text(json.dumps(data))
    dry = job_counts(snakemake(work, "-n").stdout)  # issue 25 item 10: it listed no training job
    counts = job_counts(snakemake(work).stdout)
    assert counts["train"] == 3 and dry == counts  # a dry run lists what the run runs
    assert len(list((work / "results/store/runs").glob("*/metrics.json.corrupt"))) == 3
    pd.testing.assert_frame_equal(runs_table(work, "tiny"), before)
    # a damaged shard is reported by a dry run, which changes nothing, and rebuilt by a real run
    shard = next((work / "results/store/shards").glob("*/data.npz"))
    shard.write_bytes(shard.read_bytes()[:100])
    assert "a real run will repair it" in snakemake(work, "-n").stdout
    assert not shard.with_name("data.npz.corrupt").exists()
    assert "Nothing to be done" in snakemake(work).stdout  # rebuilt before the DAG: no job retrains
    assert shard.with_name("data.npz.corrupt").exists() and np.load(shard)["x"].size


def test_diverging_members_are_flagged_and_excluded(tmp_path):
    config = copy.deepcopy(TINY_CONFIG)
    config.update(study="diverge")
    config["shards"] = {"sizes": [128, 256, 512]}
    config["fit"] = {"bootstrap": 50, "laws": ["size"]}  # 3 points: too few for power's 3 parameters
    config["training"]["learning_rates"] = [0.01, 1e4]  # the second one blows up
    work = make_checkout(tmp_path, config)
    snakemake(work)
    runs = pd.read_csv(work / "results/diverge/tables/runs.csv")
    assert runs.loc[runs["lr"] == 1e4, "diverged"].all() and not runs.loc[runs["lr"] == 0.01, "diverged"].any()
    curve = pd.read_csv(work / "results/diverge/tables/learning_curve.csv")
    assert (curve["lr"] == 0.01).all()
    fit = json.loads((work / "results/diverge/fits/fits.json").read_text())["teacher/mlp"]
    assert fit["excluded_diverged"] == int(runs["diverged"].sum()) == 3 * 2 * 2
    table = pd.read_csv(work / "results/diverge/fits/laws.csv")  # the report's fitted-law table
    assert (table["excluded_diverged"] == 12).all() and (table["runs"] == 24).all()


def test_missing_data_package_is_one_clear_line(tmp_path):
    config = copy.deepcopy(TINY_CONFIG)
    config["datasets"] = {"fashion-mnist": {"root": str(tmp_path / "nowhere")}}
    work = make_checkout(tmp_path / "w", config)
    proc = snakemake(work, "-n", check=False)
    assert proc.returncode != 0
    assert "apt-get install dataset-fashion-mnist" in proc.stdout
    assert "Traceback" not in proc.stdout and 'File "' not in proc.stdout


SNAKEMAKE_MASKING_BUG = """
rule all:
    input: "table.txt"
rule table:
    input: [ancient(f"rec/{i}.txt") for i in range(3)]
    output: "table.txt"
    shell: "cat {input} > {output}"
rule rec:
    output: "rec/{i}.txt"
    shell: "echo {wildcards.i} > {output}"
"""


def test_snakemake_still_skips_consumers_of_forced_jobs_through_ancient_inputs(tmp_path):
    """Minimal reproduction of the cause of issue 18, in Snakemake itself (9.27.1).

    A forced job (an output marked incomplete by a killed run, with --rerun-incomplete, is one)
    masks its consumers from their own needrun check; a consumer whose inputs from it are all
    ancient() and present is then skipped, so its own missing output is never noticed: after a
    kill, the rerun ran the one interrupted job, said "100% done" and exited 0 without tables.
    The workflow therefore reads records and data records (meta.json) without ancient(). When
    this test fails, Snakemake has changed: that workaround may no longer be needed.
    """
    (tmp_path / "Snakefile").write_text(SNAKEMAKE_MASKING_BUG)
    snakemake(tmp_path)
    (tmp_path / "table.txt").unlink()
    out = snakemake(tmp_path, "-n", "--forcerun", "rec").stdout
    assert job_counts(out) == {"rec": 3}  # the table, whose output is missing, is not run
    assert job_counts(snakemake(tmp_path, "-n").stdout) == {"table": 1, "all": 1}


def test_a_forced_job_of_an_interrupted_run_still_completes_the_study(tiny_run, tmp_path):
    """The state a kill leaves in the window between a job writing its output and Snakemake
    marking it complete (a forced job), with other jobs never run: the rerun does them all."""
    work = tmp_path / "copy"
    shutil.copytree(tiny_run[0], work, symlinks=True)
    (work / ".snakemake/locks").mkdir(exist_ok=True)
    records = sorted((work / "results/store/runs").glob("*/metrics.json"))
    for record in records[1:3]:
        record.unlink()  # never run
    shutil.rmtree(work / "results/tiny/tables")
    forced = str(records[0].relative_to(work))
    counts = job_counts(snakemake(work, "-n", "--forcerun", forced).stdout)
    assert counts == {"train": 3, "labels": 1, "aggregate": 1, "fit": 1, "figures": 1, "all": 1}
    shard = str(next((work / "results/store/shards").glob("*/meta.json")).relative_to(work))
    counts = job_counts(snakemake(work, "-n", "--forcerun", shard).stdout)
    assert counts["shard"] == 1 and counts["aggregate"] == 1 and counts["train"] >= 3


def stage_running(group: int, stage: str) -> bool:
    """Whether a `scalinglaws <stage>` process of this process group runs now."""
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.getpgid(int(proc.name)) == group:
                if f"-m\0scalinglaws\0{stage}\0".encode() in (proc / "cmdline").read_bytes():
                    return True
        except (OSError, ProcessLookupError):
            continue
    return False


@pytest.mark.parametrize("stage", ["data", "train", "fit-study"])
def test_sigkill_of_everything_at_any_stage_then_one_rerun_completes(reference, tmp_path, stage):
    """A small version of benchmarks/bench_faults.py kill: the documented recovery (unlock, then
    one snakemake) completes the study with the same numbers, and then nothing is left to do."""
    work = make_checkout(tmp_path, SLOW)
    proc = start(work)
    deadline = time.time() + 300
    while not stage_running(proc.pid, stage) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, f"the run ended before its {stage} stage could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    snakemake(work, "--unlock")
    snakemake(work)  # exits 0 only with every result present (the Snakefile's onsuccess check)
    pd.testing.assert_frame_equal(runs_table(work, "slow"), reference)
    assert "Nothing to be done" in snakemake(work, "-n").stdout
