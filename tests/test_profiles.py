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


def test_the_plugin_runs_a_batchs_jobs_one_after_another():
    """What the profiles' requests assume: inside a group job's allocation, the plugin's Snakemake
    runs with --jobs 1. If a new plugin runs them side by side, the requests below must change."""
    plugin = pytest.importorskip("snakemake_executor_plugin_slurm")
    assert "--jobs 1" in plugin.Executor.additional_general_args(
        SimpleNamespace(workflow=SimpleNamespace(executor_settings=SimpleNamespace(pass_command_as_script=False)))
    )


@pytest.mark.parametrize("name, minutes", [("slurm", 15), ("slurm-cpu", 30)])
def test_a_batch_asks_for_the_sum_of_its_runtimes_and_one_jobs_resources(name, minutes):
    conf = profile(name)
    batch = conf["group-components"]["train_batch"]
    request = batch_request(conf, batch)
    assert batch == 8 and conf["set-resource-scopes"] == {"group_slots": "local"}
    assert request["runtime"] == 8 * minutes  # run one after another: 2 hours (GPU), 4 (CPU)
    assert request["_cores"] == 1 and request["mem_mb"] == conf["set-resources"]["train"]["mem_mb"]
    assert batch_request(conf, 3, rule="aggregate")["runtime"] == 3 * 30
    # without the one slot per batch, Snakemake would ask for 8 jobs side by side: 8 CPUs, 1 runtime
    free = {**conf, "resources": {"group_slots": 8}}
    assert batch_request(free, batch)["_cores"] == 8 and batch_request(free, batch)["runtime"] == minutes


def test_the_gpu_profile_asks_one_gpu_per_batch_the_cpu_profile_none():
    assert batch_request(profile("slurm"), 8)["gpu"] == 1
    cpu = batch_request(profile("slurm-cpu"), 8)
    assert "gres" not in cpu and not cpu.get("gpu")


@pytest.mark.parametrize("name", PROFILES)
def test_no_partition_is_hard_coded_and_logs_have_a_place(name):
    conf = profile(name)
    assert "slurm_partition" not in conf["default-resources"]
    assert all("slurm_partition" not in r for r in conf["set-resources"].values())
    assert conf["slurm-logdir"] == "results/slurm_logs" and conf["slurm-status-command"] == "squeue"
    text = (REPO / "profiles" / name / "config.yaml").read_text()
    assert f"snakemake --profile profiles/{name} -n" in text  # the dry run to do first
    assert "debug" not in text


@pytest.mark.e2e
@pytest.mark.parametrize("name", PROFILES)
def test_the_dry_run_before_submitting_lists_the_jobs_by_name(tmp_path, name):
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="pip install -e .[slurm] provides the executor")
    work = make_checkout(tmp_path, TINY_CONFIG)
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", f"profiles/{name}", "-n"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert job_counts(out)["train"] == 10 and "train teacher/mlp size 16 on n=1024" in out
    assert not (work / "results").exists()
