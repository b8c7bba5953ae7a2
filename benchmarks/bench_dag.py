"""No-op `snakemake -n` on a ~1,000-job study vs Snakemake alone on a 1,000-job trivial DAG.

Both workflows have every output present, so the dry run measures what a rerun with nothing to
do costs: parsing, the study's identities and checksum checks (ours), DAG building and the
up-to-date checks (both). Outputs are created directly, not trained: only the DAG is timed.

    python benchmarks/bench_dag.py [--jobs 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from scalinglaws import store  # noqa: E402
from scalinglaws.study import Study  # noqa: E402

TRIVIAL = """
N = {jobs}
rule all:
    input: "summary.txt"
rule item:
    output: "items/{{i}}.txt"
    shell: "echo {{wildcards.i}} > {{output}}"
rule summary:
    input: expand("items/{{i}}.txt", i=range(N))
    output: "summary.txt"
    shell: "cat {{input}} > {{output}}"
"""


def time_dry_run(workdir: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "--cores", "1"], cwd=workdir, capture_output=True, text=True
        )
        times.append(time.perf_counter() - start)
        if "Nothing to be done" not in proc.stdout + proc.stderr:
            raise SystemExit(f"{workdir}: dry run is not a no-op:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return statistics.median(times)


def trivial_workflow(root: Path, jobs: int) -> Path:
    work = root / "trivial"
    (work / "items").mkdir(parents=True)
    (work / "Snakefile").write_text(TRIVIAL.format(jobs=jobs))
    for i in range(jobs):
        (work / "items" / f"{i}.txt").write_text(f"{i}\n")
    time.sleep(0.01)
    (work / "summary.txt").write_text("done\n")
    return work


def study_workflow(root: Path, jobs: int) -> tuple[Path, int]:
    work = root / "study"
    work.mkdir()
    for item in ("Snakefile", "workflow", "profiles"):
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / item)
    widths = 25
    shards = max(1, jobs // widths)
    config = {
        "study": "bench",
        "device": "cpu",
        "datasets": {"teacher": {"pool_size": 10**7}},
        "models": {"mlp": {"sizes": list(range(4, 4 + widths))}},
        "shards": {"sizes": [100 * (k + 1) for k in range(shards)]},
        "training": {"seeds": 4, "learning_rates": [0.001, 0.003, 0.01, 0.03]},
    }
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    import os

    os.chdir(work)
    study = Study(config)
    for path in [study.shard_file(k) for k in study.shards] + [study.eval_file(k) for k in study.evals]:
        store.atomic_save_npz(path, x=np.zeros(1))  # a valid (tiny) array file, and its record
        store.write_record(store.meta_file(path), {"spec": {}, "arrays_sha256": ""})
    for key, job in study.jobs.items():  # valid, checksummed records: the integrity check runs for real
        store.write_record(study.job_file(key), {"key": key, "spec": job.spec, "runs": []})
    # the study's tables, fits and figures: create whatever outputs the dry run still lists
    for _ in range(5):
        time.sleep(0.01)
        out = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "--cores", "1"], cwd=work, capture_output=True, text=True
        ).stdout
        listed = [
            p.strip()
            for line in out.splitlines()
            if line.startswith("    output: ")
            for p in line.split(":", 1)[1].split(",")
        ]
        if not listed:
            break
        for rel in listed:
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).write_text("x")
    return work, len(study.jobs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        trivial = time_dry_run(trivial_workflow(root, args.jobs), args.repeats)
        work, n_jobs = study_workflow(root, args.jobs)
        ours = time_dry_run(work, args.repeats)
    print(f"snakemake -n, trivial {args.jobs}-job DAG:        {trivial:6.2f} s (median of {args.repeats})")
    print(f"snakemake -n, study with {n_jobs} ensemble jobs: {ours:6.2f} s (median of {args.repeats})")
    print(f"ratio: {ours / trivial:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
