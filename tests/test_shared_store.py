"""A store shared by invocations running at once, and damaged tables and fits (issue 18).

Real Snakemake runs of a very small study: every job is trained once however many invocations
plan it, nobody's record is deleted under them, and a flipped byte in a table or fits.json is
reported in one line and rebuilt exactly once, with nothing else recomputed.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import TINY_CONFIG, job_counts, make_checkout, snakemake

pytestmark = pytest.mark.e2e

SMALL = copy.deepcopy(TINY_CONFIG)
SMALL.update(study="shared")
SMALL["shards"] = {"sizes": [64, 128, 256]}
SMALL["models"]["mlp"]["sizes"] = [4]
SMALL["fit"].update(bootstrap=10, laws=["size"])  # 3 shards: too few for power's 3 parameters
WIDER = copy.deepcopy(SMALL)  # another study: its width-4 jobs and all its data are SMALL's
WIDER.update(study="wider")
WIDER["models"]["mlp"]["sizes"] = [4, 8]


def runs_table(work: Path, study: str) -> pd.DataFrame:
    return pd.read_csv(work / f"results/{study}/tables/runs.csv").drop(columns=["wall_time_s", "config_hash"])


def flip(path: Path, offset: int) -> None:
    """Flip one bit, keeping the modification time (as bit rot would)."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x04
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def journals(store: Path) -> dict[str, list[str]]:
    """Every stored entry's journal (store.job_lock): who computed it, who found it done."""
    from scalinglaws.store import journal

    return {str(p.parent.relative_to(store)): journal(p) for p in store.glob("*/*/.lock")}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    work = make_checkout(tmp_path_factory.mktemp("small"), SMALL)
    snakemake(work)
    return work


def test_damaged_tables_and_fits_are_reported_and_rebuilt_once(small, tmp_path):
    work = tmp_path / "copy"
    shutil.copytree(small, work, symlinks=True)
    results = work / "results/shared"
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file() and p.suffix in (".csv", ".json")}
    flip(results / "fits/fits.json", 200)
    flip(results / "tables/learning_curve.csv", 60)
    flip(results / "tables/jobs.json", 20)  # the labels, which the Snakefile writes itself
    out = snakemake(work).stdout
    damaged = [line for line in out.splitlines() if "is damaged" in line]
    assert len(damaged) == 3 and all("rebuilt now" in line for line in damaged), out[-3000:]
    assert job_counts(out) == {}  # nothing else recomputed: no job at all
    assert {p: p.read_bytes() for p in before} == before  # rebuilt exactly, every table and fit
    assert (results / "fits/fits.json.corrupt").exists() and (results / "tables/learning_curve.csv.corrupt").exists()
    again = snakemake(work).stdout
    assert "is damaged" not in again and "Nothing to be done" in again  # repaired once
    # a damaged check record (of a table checked before, unchanged since): the table can no longer
    # be trusted, and its job (and what follows) reruns
    flip(results / "tables/.sizes.csv.sha256", 30)
    out = snakemake(work).stdout
    assert sum("is damaged" in line for line in out.splitlines()) == 1
    assert job_counts(out).get("aggregate") == 1 and "train" not in job_counts(out)
    assert {p: p.read_bytes() for p in before} == before


def test_a_job_planned_while_its_record_was_missing_keeps_the_record_another_wrote(small, tmp_path):
    """What a second invocation does when another finishes a job after this one planned it
    (forced here, deterministically): Snakemake used to delete the record before running the
    job, so the other invocation found its output missing and the job trained twice."""
    work = tmp_path / "copy"
    shutil.copytree(small, work, symlinks=True)
    record = next((work / "results/store/runs").glob("*/metrics.json"))
    inode, content = record.stat().st_ino, record.read_bytes()
    out = snakemake(work, "--forcerun", str(record.relative_to(work))).stdout
    assert job_counts(out)["train"] == 1
    assert record.stat().st_ino == inode and record.read_bytes() == content  # never deleted, not retrained
    assert journals(work / "results/store")[str(record.parent.relative_to(work / "results/store"))] == [
        "computed",
        "found",
    ]


def test_four_invocations_at_once_on_one_store(small, tmp_path):
    """Two checkouts of one study and two of a wider study sharing its data and jobs, at once."""
    store = tmp_path / "store"
    configs = [SMALL, WIDER, SMALL, WIDER]
    works = [make_checkout(tmp_path / f"c{i}", c) for i, c in enumerate(configs)]
    env = {**os.environ, "SCALINGLAWS_STORE": str(store)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "snakemake", "--cores", "1"],
            cwd=w,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for w in works
    ]
    # a fifth invocation in the same folder as the first: Snakemake's own lock refuses it
    deadline = time.time() + 120
    while not list((works[0] / ".snakemake/locks").glob("*")) and time.time() < deadline:
        time.sleep(0.05)
    same = snakemake(works[0], check=False)
    outs = [p.communicate(timeout=900)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-3000:]
    assert same.returncode != 0 and "lock" in same.stdout.lower()
    assert not list(store.rglob("*.tmp"))
    entries = journals(store)
    assert len(entries) == 6 + 4  # 6 distinct training jobs; 3 shards and 1 eval split
    assert all(events.count("computed") == 1 for events in entries.values()), entries  # each computed once
    from scalinglaws.store import read_record

    for record in store.glob("runs/*/metrics.json"):
        read_record(record)  # intact
    serial = runs_table(small, "shared")  # the same study run alone, on its own store
    for work in works[0::2]:
        pd.testing.assert_frame_equal(runs_table(work, "shared"), serial)
    wide = [runs_table(w, "wider") for w in works[1::2]]
    pd.testing.assert_frame_equal(wide[0], wide[1])
    shared_rows = wide[0][wide[0]["size"] == 4].drop(columns=["study"], errors="ignore").reset_index(drop=True)
    pd.testing.assert_frame_equal(shared_rows, serial.drop(columns=["study"], errors="ignore"))
