"""Extrapolation accuracy of law selection (issue 16): fit the smaller part of each learning
curve through `scalinglaws fit`, predict the rest, and compare the law `--law auto` (and
`--law power,envelope,bnsl`) selects with a plain power law plus constant (`--law power`) by the RMSE of log(y) on the predicted points.

Run from the repository root: python3 benchmarks/bench_extrapolation.py
The curves are benchmarks/data/learning_curves.csv (columns source, curve, x, y, heldout; rows
flagged heldout are the points to predict, never fitted nor used to select):
- Alabdulmohsin, Neyshabur, Zhai 2022, "Revisiting Neural Scaling Laws in Language and
  Vision" (NeurIPS), benchmark data of google-research/google-research,
  revisiting_neural_scaling_laws/data/benchmark.lang.csv (Apache-2.0): the 5 NMT curves
  (log-perplexity vs examples seen, 2x steps, the benchmark's own split: 9-10 points fitted, the
  last predicted) and the 5 LM curves (validation loss vs examples seen; the file repeats each
  curve several times, kept once, and thinned to 11-23 fitted and 5-7 predicted points).
- this project's calibration study (studies/calibration.yaml; test MSE per shard, recorded in
  benchmarks/RESULTS.md, issue 6): 4 shards fitted, 2 predicted.
A curve on which `auto` fits nothing (too few points for any law) is listed, and left out of
the comparison of means.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CURVES = ROOT / "benchmarks" / "data" / "learning_curves.csv"


def fit(law: str, out: Path) -> dict:
    cmd = [sys.executable, "-m", "scalinglaws", "fit", str(CURVES), "--law", law, "--x", "x", "--y", "y",
           "--group", "curve", "--holdout-col", "heldout", "--bootstrap", "20", "--no-figures", "--out", str(out)]  # fmt: skip
    subprocess.run(cmd, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT / "workflow")})
    return json.loads((out / "fits.json").read_text())


def held_out_error(fit: dict, law: str | None) -> float | None:
    entry = fit.get(law or "", {})
    return (entry.get("holdout") or {}).get("rmse_log")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        power = fit("power", Path(tmp) / "power")
        for laws in ("auto", "power,envelope,bnsl"):
            compare(power, fit(laws, Path(tmp) / laws), laws)


def compare(power: dict, auto: dict, laws: str) -> None:
    print(f"\n--law {laws}\n{'curve':22s} {'fitted':>6s} {'power+const':>12s} {'selected':>10s} {'its error':>10s}")
    pairs = []
    for curve in power:
        choice = (auto[curve].get("selection") or [{}])[0]
        law = choice.get("law")
        base, chosen = held_out_error(power[curve], "power"), held_out_error(auto[curve], law)
        points = power[curve]["points"] - power[curve]["held_out_points"]
        shown = f"{chosen:10.5f}" if chosen is not None else " " * 10
        print(f"{curve:22s} {points:6d} {base:12.5f} {law or 'none':>10s} {shown}"
              + ("" if law else f"  ({auto[curve].get('error') or choice.get('reason')})"))  # fmt: skip
        if chosen is not None and base is not None:
            pairs.append((base, chosen))
    base, chosen = np.array(pairs).T
    print(f"mean RMSE of log(y) on the predicted points over {len(pairs)} curves: power+const {base.mean():.5f}, "
          f"selected {chosen.mean():.5f} ({100 * (1 - chosen.mean() / base.mean()):.1f}% lower)")  # fmt: skip


if __name__ == "__main__":
    main()
