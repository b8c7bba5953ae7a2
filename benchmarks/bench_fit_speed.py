"""External-fit speed: 100 learning curves of 10 points, 200 bootstrap replicates each, through
`scalinglaws fit --group` (the issue-16 target: under 2 minutes on 2 cores).

Run from the repository root: python3 benchmarks/bench_fit_speed.py [--jobs 2] [--curves 100]
The curves are alpha n^beta + gamma with 3% noise, 2x shards from n = 100 (seeded). Prints the
wall and CPU seconds of the run with and without figures, and the machine's load (other work
on a shared machine inflates the wall time, not the CPU time).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def curves_table(path: Path, curves: int, points: int = 10, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(curves):
        a, b, c = np.exp(rng.uniform(0, 2)), -rng.uniform(0.1, 0.8), rng.uniform(0.01, 0.2)
        for n in 100 * 2.0 ** np.arange(points):
            rows.append({"curve": f"c{g:03d}", "n": n, "error": (a * n**b + c) * np.exp(0.03 * rng.standard_normal())})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def timed_fit(table: Path, out: Path, jobs: int, *extra: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one `scalinglaws fit` process and its workers."""
    cmd = [
        sys.executable,
        "-m",
        "scalinglaws",
        "fit",
        str(table),
        "--law",
        "auto",
        "--x",
        "n",
        "--y",
        "error",
        "--group",
        "curve",
        "--bootstrap",
        "200",
        "--jobs",
        str(jobs),
        "--out",
        str(out),
        *extra,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT / "workflow")})
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--curves", type=int, default=100)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        table = curves_table(Path(tmp) / "curves.csv", args.curves)
        for label, extra in (("with figures", ()), ("--no-figures", ("--no-figures",))):
            wall, cpu = timed_fit(table, Path(tmp) / label, args.jobs, *extra)
            print(
                f"{args.curves} curves x 10 points, 200 replicates, --jobs {args.jobs}, {label:13s}: "
                f"{wall:6.1f} s wall {cpu:6.1f} s CPU"
            )
    print(f"load average after: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
