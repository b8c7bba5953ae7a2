"""The SLURM profiles as shipped: what one batch of ensemble jobs asks SLURM for, computed by
Snakemake's own group-resource code (tests/test_slurm.py submits them to a real SLURM)."""
import subprocess
import sys
from types import SimpleNamespace

import pytest
import yaml
from snakemake.resources import GroupResources, Resources

from conftest import REPO, TINY_CONFIG, job_counts, make_checkout

PROFILES = ["slurm", "slurm-cpu"]


def profile(name: str) -> dict:
    return yaml.safe_load((REPO / "profiles" / name / "config.yaml").read_text())


def batch_request(conf: dict, jobs: int, rule: str = "train") -> dict:
    """What Snakemake asks for a group job of `jobs` independent jobs of `rule` (one thread each)."""
    resources = {"_cores": 1, **conf["default-resources"], **conf["set-resources"].get(rule, {})}
    resources = {k: v for k, v in resources.items() if k != "slurm_partition"}
    members = [SimpleNamespace(resources=resources, pipe_group=None) for _ in range(jobs)]
    limits = Resources.from_mapping({**conf["resources"], "_cores": 10**6, "_nodes": 10**6})
    return GroupResources.basic_layered([members], limits, run_local=False)


@pytest.mark.parametrize("name", PROFILES)
def test_a_batch_runs_its_jobs_4_at_a_time_and_asks_for_their_rounds(name):
    conf = profile(name)
    batch = conf["group-components"]["train_batch"]
    request = batch_request(conf, batch)
    assert batch == 8 and conf["set-resource-scopes"] == {"group_slots": "local"}
    assert request["runtime"] == 2 * 60  # 8 jobs of 60 minutes in 2 rounds of 4, not 8 x 60
    assert request["_cores"] == 4 and request["mem_mb"] == 4 * 4000
    assert batch_request(conf, 3)["runtime"] == 60  # a short batch: one round
    # the CPU stages fill every slot of their batch: one at a time, their runtimes add up
    assert batch_request(conf, 3, rule="aggregate")["runtime"] == 3 * 30
    assert batch_request(conf, 3, rule="aggregate")["_cores"] == 1


def test_the_gpu_profile_asks_one_gpu_per_batch_the_cpu_profile_none():
    gpu = batch_request(profile("slurm"), 8)
    assert gpu["gres"] == "gpu:1" and gpu["gpu"] == 0  # a string is not added up: one GPU, shared
    cpu = batch_request(profile("slurm-cpu"), 8)
    assert "gres" not in cpu and not cpu.get("gpu")
    # as an integer, `gpu: 1` would be added up over the jobs running at once
    counted = profile("slurm")
    counted["set-resources"]["train"].update(gpu=1, gres=None)
    assert batch_request(counted, 8)["gpu"] == 4


@pytest.mark.parametrize("name", PROFILES)
def test_no_partition_is_hard_coded_and_logs_have_a_place(name):
    conf = profile(name)
    assert "slurm_partition" not in conf["default-resources"]
    assert all("slurm_partition" not in r for r in conf["set-resources"].values())
    assert conf["slurm-logdir"] == "results/slurm_logs" and conf["slurm-status-command"] == "squeue"
    text = (REPO / "profiles" / name / "config.yaml").read_text()
    assert f"snakemake --profile profiles/{name} -n" in text  # the dry run to do first


@pytest.mark.e2e
@pytest.mark.parametrize("name", PROFILES)
def test_the_dry_run_before_submitting_lists_the_jobs_by_name(tmp_path, name):
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="pip install -e .[slurm] provides the executor")
    work = make_checkout(tmp_path, TINY_CONFIG)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--profile", f"profiles/{name}", "-n"], cwd=work,
                          capture_output=True, text=True)  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert job_counts(out)["train"] == 10 and "train teacher/mlp size 16 on n=1024" in out
    assert not (work / "results").exists()
