"""Extrapolation accuracy of law selection (issue 16): fit the smaller part of each learning
curve through `scalinglaws fit`, predict the rest, and compare the law `--law auto` selects
(among power, envelope, m4 and bnsl) with a plain power law plus constant (`--law power`) by the
RMSE of log(y) on the predicted points, per curve, per source and over all curves.

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
A curve on which `auto` fits nothing (too few points for any law) is listed, and left out of
the comparison of means.

Cases the method was not built on (`--synthetic K`, K curves per truth, seeded): curves drawn
from a known law with 2% noise, 12 points at 2x steps fitted and the next 3 (2x to 8x beyond)
predicted: power plus constant (2 n^-0.5 + 0.1, the issue's case), Rosenfeld's envelope
(eps0 = 1, t = 3 n^-0.4 + 0.05) and a broken power law with a bend (Caballero et al.: c0 = 0.1,
c1 = 0.6, d1 = 3000, f1 = 0.3, b = 5).

The last column of each table, "any law by backtest", is a diagnostic, not the method: the same
like-for-like backtest selection among power, envelope, m4 and bnsl without the rule that a law may
have at most about a third as many parameters as points.
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
from scalinglaws.fit import selection  # noqa: E402
from scalinglaws.fit.external import AUTO  # noqa: E402
from scalinglaws.fit.laws import make_law  # noqa: E402

CURVES = ROOT / "benchmarks" / "data" / "learning_curves.csv"
ALL = ",".join(AUTO[1])  # the diagnostic column selects among auto's one-input laws


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


def held_out_error(fit: dict, law: str | None) -> float | None:
    entry = fit.get(law or "", {})
    return (entry.get("holdout") or {}).get("rmse_log")


def without_rule(fit: dict) -> str | None:
    """The law the backtest selection picks among every fitted law, the parameter rule off."""
    saved = selection.POINTS_PER_PARAMETER
    selection.POINTS_PER_PARAMETER = 0
    try:
        entries = {name: fit[name] for name in ALL.split(",") if name in fit}
        choice = selection.select_law(entries, among="diagnostic") if len(entries) > 1 else None
    finally:
        selection.POINTS_PER_PARAMETER = saved
    return choice["law"] if choice else None


def evaluate(table: Path, tmp: Path, title: str) -> None:
    """Per curve and per source: power+constant, the auto selection, and the diagnostic."""
    sources = pd.read_csv(table).groupby("curve")["source"].first().map(lambda s: re.sub(r",.*\(", " (", s))
    power, auto, every = (fit(table, law, tmp / law) for law in ("power", "auto", ALL))
    print(
        f"\n## {title}\n| curve | points fitted | power + constant | auto selects | its error "
        "| any law by backtest | its error |\n| --- | --- | --- | --- | --- | --- | --- |"
    )
    rows = []
    for curve in power:
        law = ((auto[curve].get("selection") or [{}])[0]).get("law")
        free = without_rule(every[curve])
        base, chosen = held_out_error(power[curve], "power"), held_out_error(auto[curve], law)
        other = held_out_error(every[curve], free)
        points = power[curve]["points"] - power[curve]["held_out_points"]
        cells = [f"{v:.5f}" if v is not None else "" for v in (base, chosen, other)]
        why = "" if law else f" ({auto[curve].get('error') or auto[curve]['selection'][0]['reason']})"[:90]
        print(
            f"| {curve} | {points} | {cells[0]} | {law or 'none'}{why} | {cells[1]} | {free or 'none'} | {cells[2]} |"
        )
        if None not in (base, chosen, other):
            rows.append({"source": sources[curve], "power": base, "auto": chosen, "any": other})
    frame = pd.DataFrame(rows)
    print(
        "\n| source | curves | power + constant | auto | change | any law by backtest | change |\n"
        "| --- | --- | --- | --- | --- | --- | --- |"
    )
    groups = [*frame.groupby("source", sort=False), ("all", frame)]
    groups += [(f"all but {s}", frame[frame["source"] != s]) for s in frame["source"].unique()]
    for source, part in groups:
        m = part[["power", "auto", "any"]].mean()
        print(
            f"| {source} | {len(part)} | {m['power']:.5f} | {m['auto']:.5f} | "
            f"{100 * (m['auto'] / m['power'] - 1):+.1f}% | {m['any']:.5f} | {100 * (m['any'] / m['power'] - 1):+.1f}% |"
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
