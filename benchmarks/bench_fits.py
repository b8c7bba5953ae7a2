"""Fit-stage timings: a full multi-start chinchilla fit, and 1,000 bootstrap refits of joint.

Run from the repository root: python3 benchmarks/bench_fits.py
Prints wall and CPU seconds of each, with the estimates, so a slower fit that finds something
else is noticed. The machine's load matters: note it with the figures.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from scalinglaws.fit.laws import ChinchillaLaw, JointLaw  # noqa: E402
from scalinglaws.fit.uncertainty import bootstrap, collapse_runs, resample_runs  # noqa: E402

CHINCHILLA = ROOT / "tests" / "data" / "chinchilla_svg_extracted_data.csv"


def timed(label: str, fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:58s} {wall:8.2f} s wall {cpu:8.2f} s CPU")
    return result


def chinchilla_points():
    df = pd.read_csv(CHINCHILLA)
    df["D"] = df["Training FLOP"] / (6 * df["Model Size"])
    df = df.sort_values("loss", kind="stable").iloc[:-5]
    return df[["Model Size", "D"]].to_numpy(), df["loss"].to_numpy()


def joint_runs(seeds: int = 4):
    """5 model sizes x 9 shards x `seeds` runs of Rosenfeld's form with 3% noise per run."""
    m, n = np.array([1e3, 4e3, 1.6e4, 6.4e4, 2.56e5]), 2.0 ** np.arange(8, 17)
    x = np.repeat(np.column_stack([np.tile(m, len(n)), np.repeat(n, len(m))]), seeds, axis=0)
    truth = {"a": 30.0, "alpha": 0.6, "b": 20.0, "beta": 0.5, "c_inf": 0.02, "eps0": 0.9}
    y = JointLaw()._f(x, truth) * np.exp(0.03 * np.random.default_rng(0).standard_normal(len(x)))
    return x, y


def main() -> None:
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}; numpy {np.__version__}"
    )
    x, y = chinchilla_points()
    full = timed("chinchilla: L-BFGS from all 4,500 grid starts (240 points)", lambda: ChinchillaLaw().fit(x, y))
    print("   ", ", ".join(f"{k} = {v:.4g}" for k, v in full.params_.items()))
    screened = timed(
        "chinchilla: from the 100 best grid starts (screen=100)", lambda: ChinchillaLaw(screen=100).fit(x, y)
    )
    print(f"    same optimum: loss {screened.loss_:.10g} vs {full.loss_:.10g}")
    timed(
        "chinchilla: 1,000 bootstrap refits (points resampled)",
        lambda: bootstrap(full, resample_runs(x, y, 1000, seed=0)[1]),
    )

    xj, yj = joint_runs()
    points, means, _ = collapse_runs(xj, yj)
    joint = timed("joint: multi-start fit (45 points, 6 parameters)", lambda: JointLaw().fit(points, means))
    _, replicates = resample_runs(xj, yj, 1000, seed=0)
    boot = timed("joint: 1,000 bootstrap refits (runs resampled)", lambda: bootstrap(joint, replicates))
    ci = boot.intervals()
    print(
        f"    {len(boot.samples)} refits, {boot.failed} failed; alpha = {joint.params_['alpha']:.3f} "
        f"[{ci['alpha'][0]:.3f}, {ci['alpha'][1]:.3f}], beta = {joint.params_['beta']:.3f} "
        f"[{ci['beta'][0]:.3f}, {ci['beta'][1]:.3f}]"
    )


if __name__ == "__main__":
    main()
