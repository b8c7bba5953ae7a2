"""The SLURM profile against a real single-node SLURM (tests/slurm_cluster.py), end to end.

One tiny study goes through `snakemake --profile profiles/slurm`: the first run has a training
job cancelled with `scancel` while it trains, the second completes the study and must submit
only what is missing, and a third must submit nothing. The finished tables and fits must equal
those of a local run.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, TINY_CONFIG, job_counts, make_checkout
from scalinglaws import store
from slurm_cluster import SlurmCluster, fit_profile, install

pytestmark = [pytest.mark.e2e, pytest.mark.slurm]
N_TRAIN = 10  # ensemble jobs of the tiny study: 5 shards x 2 sizes
PROFILE = "profiles/slurm/config.yaml"
TIMING_COLUMNS = ["wall_time_s"]  # how long a run took: the one column that may differ


def start_snakemake(work, cluster: SlurmCluster) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "snakemake", "--profile", "profiles/slurm"]
    return subprocess.Popen(cmd, cwd=work, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen) -> str:
    """Wait for Snakemake to exit (killing it after 5 minutes); return its output."""
    try:
        return proc.communicate(timeout=300)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run_snakemake(work, cluster: SlurmCluster) -> tuple[int, str, list[str]]:
    """Run the profile to the end; return exit code, output and the SLURM job ids submitted meanwhile."""
    before = set(cluster.submissions())
    proc = start_snakemake(work, cluster)
    out = finish(proc)
    return proc.returncode, out, [j for j in cluster.submissions() if j not in before]


def training_processes(work) -> list[tuple[int, str, str]]:
    """(pid, SLURM job id, output path) of every `scalinglaws train` process of this checkout."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            if "scalinglaws" not in argv or "train" not in argv or os.readlink(f"/proc/{pid}/cwd") != str(work):
                continue
            environ = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
            env = dict(v.split("=", 1) for v in environ if "=" in v)
        except OSError:  # the process ended meanwhile
            continue
        found.append((int(pid), env.get("SLURM_JOB_ID", ""), argv[argv.index("--out") + 1]))
    return found


def job_records(cluster: SlurmCluster) -> dict[str, dict[str, str]]:
    """`scontrol show job` of every job slurmctld still remembers (MinJobAge=300 s), by id."""
    out = cluster.run("scontrol", "show", "job", "-o").stdout
    records = [dict(re.findall(r"(\S+?)=(\S*)", line)) for line in out.splitlines() if line.strip()]
    return {r["JobId"]: r for r in records}


def store_state(work) -> dict:
    runs = work / "results/store/runs"
    return {
        "metrics": sorted(p.parent.name for p in runs.glob("*/metrics.json")),
        "temporary": sorted(str(p) for p in (work / "results/store").rglob("*.tmp")),
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="pip install -e .[slurm] provides the executor")
    reason = install()
    if reason:
        pytest.skip(reason)
    with SlurmCluster(tmp_path_factory.mktemp("slurm")) as c:
        yield c


@pytest.fixture(scope="module")
def slurm_study(cluster, tmp_path_factory):
    """The tiny study through SLURM: a cancelled first run, a completing rerun, an idle third run."""
    work = make_checkout(tmp_path_factory.mktemp("slurm-checkout"), TINY_CONFIG)
    fit_profile(work / PROFILE)  # train asks for gpu: 1, as shipped

    # 1. `scancel` the SLURM job (a batch of 5 ensemble jobs) of the first training process seen.
    proc = start_snakemake(work, cluster)
    deadline, victim = time.monotonic() + 240, None
    while victim is None and time.monotonic() < deadline and proc.poll() is None:
        started = training_processes(work)
        if started:
            time.sleep(0.5)  # then take one still running (a training process lives for seconds)
            alive = {pid for pid, _, _ in training_processes(work)}
            victim = next((t for t in started if t[0] in alive), None)
        time.sleep(0.1)
    if victim is None:
        finish(proc)
        pytest.fail("no training process was seen running")
    cluster.run("scancel", victim[1])
    out1 = finish(proc)
    first = {
        "returncode": proc.returncode,
        "output": out1,
        "victim": victim,
        "store": store_state(work),
        "jobs": job_records(cluster),
    }

    # 2. Rerun to completion, asking for the GPU as --gres this time.
    fit_profile(work / PROFILE, train={"gpu": None, "gres": "gpu:1"})
    rc2, out2, submitted2 = run_snakemake(work, cluster)
    assert rc2 == 0, out2[-5000:]
    second = {"output": out2, "submitted": submitted2, "jobs": job_records(cluster)}

    # 3. Everything is done: nothing to submit.
    rc3, out3, submitted3 = run_snakemake(work, cluster)
    assert rc3 == 0, out3[-5000:]
    third = {"output": out3, "submitted": submitted3}
    return work, first, second, third


def test_cancelled_job_leaves_no_partial_output(slurm_study):
    work, first, _, _ = slurm_study
    _, victim_job, out_path = first["victim"]
    assert first["returncode"] != 0
    assert first["jobs"][victim_job]["JobState"] == "CANCELLED"
    cancelled_key = os.path.basename(os.path.dirname(out_path))
    assert cancelled_key not in first["store"]["metrics"]
    assert first["store"]["temporary"] == []
    for key in first["store"]["metrics"]:  # whatever is there is whole (its checksum holds)
        metrics = store.read_record(work / f"results/store/runs/{key}/metrics.json")
        assert len(metrics["runs"]) == TINY_CONFIG["training"]["seeds"] * len(TINY_CONFIG["training"]["learning_rates"])


def test_rerun_submits_only_missing_work(slurm_study):
    _, first, second, _ = slurm_study
    counts = job_counts(second["output"])
    missing = N_TRAIN - len(first["store"]["metrics"])
    # at most the cancelled batch (Snakemake may also remove what its finished members wrote)
    assert counts.get("train") == missing and 1 <= missing <= 5
    assert "shard" not in counts and "eval_splits" not in counts  # the data were done: not submitted
    assert counts["aggregate"] == counts["fit"] == counts["figures"] == 1
    # grouped: the missing training jobs are one batch; aggregate, fit and figures are another
    assert len(second["submitted"]) == 2


def test_finished_study_submits_nothing(slurm_study):
    _, _, _, third = slurm_study
    assert third["submitted"] == []
    assert "Nothing to be done" in third["output"], third["output"][-2000:]


@pytest.mark.parametrize("run, field", [("first", "TresPerJob"), ("second", "TresPerNode")])
def test_only_training_asks_for_a_gpu(slurm_study, run, field):
    """As shipped (first run) training asks `--gpus=1`; switched to `gres: gpu:1` (second), `--gres`."""
    _, first, second, _ = slurm_study
    jobs = {"first": first, "second": second}[run]["jobs"]
    trains = [r for r in jobs.values() if r["Comment"].startswith("rule_train")]
    others = [r for r in jobs.values() if not r["Comment"].startswith("rule_train")]
    if run == "second":  # slurmctld still remembers the first run's jobs too
        trains = [r for r in trains if r["JobId"] in second["submitted"]]
        others = [r for r in others if r["JobId"] in second["submitted"]]
    assert trains and others
    assert all(r.get(field) == "gres:gpu:1" for r in trains), trains
    assert not any("gpu" in r.get("TresPerJob", "") + r.get("TresPerNode", "") for r in others), others


def test_a_batch_asks_for_the_sum_of_its_jobs_runtimes_and_one_jobs_cpus(slurm_study):
    """The plugin runs a batch's jobs one after another: 5 ensemble jobs of 15 minutes ask for 75
    minutes and 1 CPU; aggregate, fit and figures for 3 x 30 minutes."""
    _, first, second, _ = slurm_study
    minutes = yaml.safe_load((REPO / PROFILE).read_text())["set-resources"]["train"]["runtime"]
    trains = [r for r in first["jobs"].values() if r["Comment"].startswith("rule_train")]
    assert trains and {(r["TimeLimit"], r["NumCPUs"]) for r in trains} == {(hours(5 * minutes), "1")}
    missing = job_counts(second["output"])["train"]
    rerun = [r for j, r in second["jobs"].items() if j in second["submitted"]]
    assert [r["TimeLimit"] for r in rerun if r["Comment"].startswith("rule_train")] == [hours(missing * minutes)]
    assert [r["TimeLimit"] for r in rerun if not r["Comment"].startswith("rule_train")] == [hours(3 * 30)]


def hours(minutes: int) -> str:
    """A time limit as `scontrol show job` prints it (under a day)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def test_results_equal_a_local_run(slurm_study, tiny_run):
    work, _, _, _ = slurm_study
    local, _ = tiny_run
    for table in ("runs", "learning_curve", "sizes"):
        a = pd.read_csv(local / f"results/tiny/tables/{table}.csv")
        b = pd.read_csv(work / f"results/tiny/tables/{table}.csv")
        drop = [c for c in TIMING_COLUMNS if c in a.columns]
        pd.testing.assert_frame_equal(a.drop(columns=drop), b.drop(columns=drop))
    fits_local = json.loads((local / "results/tiny/fits/fits.json").read_text())
    fits_slurm = json.loads((work / "results/tiny/fits/fits.json").read_text())
    assert fits_slurm == fits_local
