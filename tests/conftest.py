"""Shared fixtures: a fresh copy of this checkout in a temporary folder, and a tiny study."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COPY_ITEMS = ["Snakefile", "config.yaml", "workflow", "profiles", "envs"]

TINY_CONFIG = {
    "study": "tiny",
    "seed": 0,
    "device": "cpu",
    "datasets": {
        "teacher": {
            "input_dim": 4,
            "teacher_width": 16,
            "noise_std": 0.05,
            "pool_size": 100000,
            "val_size": 512,
            "test_size": 1024,
        }
    },
    "models": {"mlp": {"sizes": [4, 16], "depth": 2}},
    "shards": {"min": 64, "max": 1024, "factor": 2},
    "training": {
        "seeds": 2,
        "learning_rates": [0.01, 0.03],
        "batch_size": 64,
        "epochs": 50,
        "min_steps": 100,
        "max_steps": 300,
        "eval_every": 25,
        "patience": 4,
    },
    "fit": {"bootstrap": 50, "laws": ["power", "size", "joint"]},
}


@pytest.fixture(scope="session")
def teacher():
    """A small teacher-student regression task: a 512-example shard, validation and test splits."""
    from scalinglaws.datasets import make_dataset

    ds = make_dataset("teacher", {"input_dim": 4, "teacher_width": 16, "val_size": 256, "test_size": 512}, seed=0)
    splits = ds.eval_splits()
    return ds.shard(512), splits["val"], splits["test"]


def pytest_collection_modifyitems(items):
    """Every end-to-end test is also `slow`, so `pytest -m "not slow"` leaves out all of them."""
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.slow)


def make_checkout(dest: Path, config: dict | None = None) -> Path:
    """Copy the workflow as a new user's clone would have it, optionally with another config."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in COPY_ITEMS:
        src = REPO / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / item)
    if config is not None:
        (dest / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real Snakemake CLI in `workdir`; return the completed process (output in .stdout)."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env={**os.environ, **(env or {})})
    proc.stdout = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-5000:]}")
    return proc


def job_counts(output: str) -> dict[str, int]:
    """Snakemake's own 'Job stats' table (from a run or a dry run) as {rule: count}."""
    counts: dict[str, int] = {}
    if "Job stats:" not in output:
        return counts
    table = output.split("Job stats:", 1)[1]
    for line in table.splitlines()[3:]:
        m = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if not m:
            break
        if m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The tiny study run once, end to end, in its own checkout; shared by the e2e tests."""
    work = make_checkout(tmp_path_factory.mktemp("checkout"), TINY_CONFIG)
    proc = snakemake(work)
    return work, proc
