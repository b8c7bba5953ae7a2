"""Extrapolation accuracy of the default prediction (issue 24; before it, of law selection,
issue 16): fit the smaller part of each learning curve through `scalinglaws fit --law auto`,
predict the rest, and compare the default prediction (every auto law combined by its stacking
weights, fit/combine.py) with a plain power law plus constant (`--law power`) by the RMSE of
log(y) on the predicted points, per curve, per source and over all curves; and count how often
the held-out points fall inside the default prediction's 95% prediction interval.

Run from the repository root: python3 benchmarks/bench_extrapolation.py [--synthetic 6]
The public curves are benchmarks/data/learning_curves.csv (columns source, curve, x, y, heldout;
rows flagged heldout are the points to predict, never fitted nor used to select):
- Alabdulmohsin, Neyshabur, Zhai 2022, "Revisiting Neural Scaling Laws in Language and
  Vision" (NeurIPS), benchmark data of google-research/google-research,
  revisiting_neural_scaling_laws/data/benchmark.lang.csv (Apache-2.0): the 5 NMT curves
  (log-perplexity vs examples seen, 2x steps, the benchmark's own split: 9-10 points fitted, the
  last predicted) and the 5 LM curves (validation loss vs examples seen; the file repeats each
  curve several times, kept once, and thinned to 11-23 fitted and 5-7 predicted points).
- this project's calibration study (studies/calibration.yaml; test MSE per shard, recorded in
  benchmarks/RESULTS.md, issue 6): 4 shards fitted, 2 predicted.
- the same paper's vision benchmark, revisiting_neural_scaling_laws/data/benchmark.vision.csv
  (columns Domain, Task, Model, Seen Examples, Loss, Training; Loss is the few-shot image
  classification error, x is examples seen). Only its first 12 curves in file order are here: the
  12 tasks (bird, c, cal, inet; 5, 10 and 25 shots) of its first model, MiX/B/16, the file's first
  192 of 994 kB. The file was read through a text look-up tool 16 kB at a time and copied by hand,
  and reading all of it (about 60 curves, estimated from its size) did not fit one session; the
  curves that follow (BiT/50/1 onwards) are not used. One mechanical rule, fixed before any fit,
  for every curve: the paper's own split (Training 1 fitted, 0 predicted); a repeated x keeps its
  first row (none seen); the fitted part (13 to 70 rows) is thinned to the rows nearest 15 targets
  spaced evenly in log x from its smallest to its largest x (a row nearest two targets is kept
  once: 12 to 15 points); the predicted part (11 to about 500 rows, one every 4.1M examples) to
  the rows nearest 6 targets spaced the same way over its range (its first and last row and 4
  between).
- this project's GPU studies (one NVIDIA H200, 2026-11-30; test_mean against n per dataset and
  family in results/<study>/tables/learning_curve.csv of the runs that benchmarks/RESULTS.md
  records under issue 14): calibration (the same study as above, run on the GPU),
  fashion-mnist (cnn, mlp; test error), text-lm (transformer; test bits per byte) and kan-vs-mlp
  (kan and mlp on bessel, exp-4d, exp-sin; test RMSE); and the default study (config.yaml, teacher mlp, test
  MSE) run on a 2-core CPU the same day (results/default/tables/learning_curve.csv). One rule for all: the largest third of shards (rounded down, at least 2)
  predicted, the rest fitted (4 to 6 points).
A curve on which the default prediction predicts nothing is listed, and left out of the means.

Cases the method was not built on (`--synthetic K`, K curves per truth, seeded): curves drawn
from a known law with 2% noise, 12 points at 2x steps fitted and the next 3 (2x to 8x beyond)
predicted: power plus constant (2 n^-0.5 + 0.1, the issue's case), Rosenfeld's envelope
(eps0 = 1, t = 3 n^-0.4 + 0.05) and a broken power law with a bend (Caballero et al.: c0 = 0.1,
c1 = 0.6, d1 = 3000, f1 = 0.3, b = 5).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
from scalinglaws.fit.curves import read_fits  # noqa: E402
from scalinglaws.fit.laws import make_law  # noqa: E402
from scalinglaws.fit.predict import default_prediction  # noqa: E402

CURVES = ROOT / "benchmarks" / "data" / "learning_curves.csv"


def fit(table: Path, law: str, out: Path) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "scalinglaws",
        "fit",
        str(table),
        "--law",
        law,
        "--x",
        "x",
        "--y",
        "y",
        "--group",
        "curve",
        "--holdout-col",
        "heldout",
        "--bootstrap",
        "20",
        "--jobs",
        str(os.cpu_count() or 1),
        "--no-figures",
        "--out",
        str(out),
    ]
    subprocess.run(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT / "workflow")},
    )
    return json.loads((out / "fits.json").read_text())


def held_out(fit: dict) -> tuple[float, float, str] | None:
    """(RMSE of log y, fraction inside the 95% PI, weights) of the default prediction on the
    held-out points of one group's auto fit; None when it predicts nothing."""
    if "laws" not in fit:
        return None
    curve = read_fits({"g": fit})["g"]
    pred = default_prediction(curve, 1)
    if pred is None:
        law = curve.default_law(1)
        pred = curve.get(law) if law else None
    if pred is None:
        return None
    first = next(r for r in curve.fitted())
    x, y = first.x[first.held_out], first.y[first.held_out]
    iv = pred.predict(x)
    inside = float(np.mean((iv["pi_low"] <= y) & (y <= iv["pi_high"]))) if iv["pi_low"] is not None else np.nan
    return float(np.sqrt(np.mean(np.log(iv["prediction"] / y) ** 2))), inside, pred.name


def power_error(fit: dict) -> float | None:
    return (fit.get("power", {}).get("holdout") or {}).get("rmse_log")


def evaluate(table: Path, tmp: Path, title: str) -> None:
    """Per curve and per source: power+constant against the default (combined) prediction."""
    sources = pd.read_csv(table).groupby("curve")["source"].first().map(lambda s: re.sub(r",.*\(", " (", s))
    power, auto = (fit(table, law, tmp / law) for law in ("power", "auto"))
    print(
        f"\n## {title}\n| curve | points fitted | power + constant | default prediction | its error "
        "| held-out points inside its 95% PI |\n| --- | --- | --- | --- | --- | --- |"
    )
    rows = []
    for curve in power:
        base, got = power_error(power[curve]), held_out(auto[curve])
        points = power[curve].get("points", 0) - power[curve].get("held_out_points", 0)
        if got is None:
            print(f"| {curve} | {points} | {base} | none ({auto[curve].get('error', '')[:80]}) | | |")
            continue
        err, inside, name = got
        print(f"| {curve} | {points} | {base if base is None else f'{base:.5f}'} | {name} | {err:.5f} | {inside:.2f} |")
        if base is not None:
            rows.append({"source": sources[curve], "power": base, "default": err, "inside": inside})
    frame = pd.DataFrame(rows)
    print(
        "\n| source | curves | power + constant | default prediction | ratio | inside the 95% PI |\n"
        "| --- | --- | --- | --- | --- | --- |"
    )
    groups = [*frame.groupby("source", sort=False), ("all", frame)]
    for source, part in groups:
        m = part[["power", "default", "inside"]].mean()
        print(
            f"| {source} | {len(part)} | {m['power']:.5f} | {m['default']:.5f} | "
            f"{m['default'] / m['power']:.2f}x | {100 * m['inside']:.0f}% |"
        )


TRUTHS = {
    "power+constant": ("power", {"alpha": 2.0, "beta": -0.5, "gamma": 0.1}),
    "envelope": ("envelope", {"a": 3.0, "alpha": 0.4, "c": 0.05, "eps0": 1.0}),
    "broken power law": ("bnsl", {"a": 0.0, "b": 5.0, "c0": 0.1, "c1": 0.6, "d1": 3e3, "f1": 0.3}),
}


def synthetic_table(path: Path, per_truth: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    n = 100 * 2.0 ** np.arange(15)
    rows = []
    for truth, (law, params) in TRUTHS.items():
        clean = make_law(law)._f(n[:, None], params)
        for k in range(per_truth):
            y = clean * np.exp(0.02 * rng.standard_normal(len(n)))
            rows += [
                {
                    "source": f"synthetic: {truth}",
                    "curve": f"{truth} {k}",
                    "x": x,
                    "y": v,
                    "heldout": "yes" if i >= 12 else "no",
                }
                for i, (x, v) in enumerate(zip(n, y))
            ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=6, help="curves per known truth (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "public").mkdir()
        evaluate(CURVES, Path(tmp) / "public", "public learning curves and this project's")
        if args.synthetic:
            (Path(tmp) / "synthetic").mkdir()
            table = synthetic_table(Path(tmp) / "synthetic.csv", args.synthetic)
            evaluate(table, Path(tmp) / "synthetic", "cases the method was not built on (known truths, 2% noise)")


if __name__ == "__main__":
    main()
