"""Wall time of the tiny study on a real single-node SLURM, with and without batching.

Starts the test cluster of tests/slurm_cluster.py (installs Debian's SLURM where it can; needs
root or passwordless sudo), then runs the tiny study of tests/conftest.py from scratch through
`snakemake --profile profiles/slurm` in fresh checkouts: once as shipped (small jobs batched
into group jobs), with every job submitted on its own, and with the ensemble jobs submitted as
one SLURM job array. All use the same node-fitted settings (tests/slurm_cluster.py:
fit_profile). Prints wall time, SLURM submissions and Snakemake jobs.

    python benchmarks/bench_slurm.py [--repeats 1] [--batching groups none array]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import TINY_CONFIG, job_counts, make_checkout  # noqa: E402
from slurm_cluster import SlurmCluster, fit_profile, install  # noqa: E402


def run_study(cluster: SlurmCluster, root: Path, batching: str) -> tuple[float, int, int]:
    """(wall seconds, SLURM jobs submitted, Snakemake jobs run) of the tiny study from scratch."""
    work = make_checkout(root, TINY_CONFIG)
    fit_profile(work / "profiles/slurm/config.yaml", batching=batching)
    before = len(cluster.submissions())
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", "profiles/slurm"],
        cwd=work,
        env=cluster.env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return wall, len(cluster.submissions()) - before, sum(job_counts(proc.stdout + proc.stderr).values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    variants = ["groups", "none", "array"]
    parser.add_argument("--batching", nargs="+", default=variants, choices=variants)
    args = parser.parse_args()
    reason = install()
    if reason:
        raise SystemExit(f"cannot run: {reason}")
    with tempfile.TemporaryDirectory() as tmp, SlurmCluster(Path(tmp) / "slurm") as cluster:
        print("batching  repeat  wall_s  slurm_jobs  snakemake_jobs")
        for repeat in range(args.repeats):
            for batching in args.batching:
                wall, submitted, jobs = run_study(cluster, Path(tmp) / f"{batching}-{repeat}", batching)
                print(f"{batching:<8}  {repeat:>6}  {wall:6.1f}  {submitted:>10}  {jobs:>14}", flush=True)


if __name__ == "__main__":
    main()
