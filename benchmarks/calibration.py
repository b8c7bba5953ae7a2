"""Calibration benchmark: does the pipeline measure the exponent that theory predicts?

Runs a calibration study end to end with Snakemake (cached work is reused), then prints the
measured exponent with its 95% CI next to three references:
- -1, the closed-form asymptotic exponent of least squares (noise^2 * dim / (n - dim - 1));
- the same law fitted to that closed form at the study's shards (what a perfect learner and a
  perfect dataset would give at these n);
- the same law fitted to exact least squares on the study's own shards and test set (what a
  perfect learner gives on this very dataset, so that luck of the data and the trainer's error
  can be told apart).

    python3 benchmarks/calibration.py [--configfile studies/calibration.yaml] [--cores N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from scalinglaws.fit.laws import PowerLaw  # noqa: E402
from scalinglaws.study import Study  # noqa: E402


def least_squares_curve(ds, shards: list[int]) -> np.ndarray:
    """Test MSE of exact least squares (with an intercept, like the linear family) per shard."""
    test = ds.eval_splits()["test"]
    pool = ds.shard(max(shards))
    xt = np.c_[test.x, np.ones(len(test))]
    out = []
    for n in shards:
        w = np.linalg.lstsq(np.c_[pool.x[:n], np.ones(n)], pool.y[:n], rcond=None)[0]
        out.append(float(np.mean((xt @ w - test.y) ** 2)))
    return np.array(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configfile", default="studies/calibration.yaml")
    p.add_argument("--cores", default="all")
    args = p.parse_args()
    study = Study.from_file(ROOT / args.configfile)
    subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", args.cores, "--configfile", args.configfile],
        cwd=ROOT,
        check=True,
    )
    fits = json.loads((ROOT / study.results / "fits/fits.json").read_text())
    for key, fit in fits.items():
        dataset = study.datasets[fit["dataset"]]
        n = np.array(fit["shards"], float)
        beta = fit["power"]["params"]["beta"]
        closed = PowerLaw().fit(n, dataset.least_squares_excess(n)).params_["beta"]
        exact = PowerLaw().fit(n, least_squares_curve(dataset, fit["shards"])).params_["beta"]
        lo, hi = beta["ci95"]
        print(f"{key}: shards {fit['shards'][0]}..{fit['shards'][-1]}")
        print(f"  measured beta            {beta['value']:.3f}  (95% CI {lo:.3f} to {hi:.3f})")
        print(f"  closed form, asymptotic  -1.000  (measured is {100 * abs(beta['value'] + 1):.1f}% off)")
        print(f"  closed form at these n   {closed:.3f}  ({100 * abs(beta['value'] / closed - 1):.1f}% off)")
        print(f"  exact least squares here {exact:.3f}  ({100 * abs(beta['value'] / exact - 1):.1f}% off)")


if __name__ == "__main__":
    main()
