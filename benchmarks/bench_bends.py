"""The default prediction where curves bend and where points are few (issue 24's goals).

Three synthetic cases with known truth, fitted as a user would (`--law auto` through
fit/external.py's fit_table, the default prediction of fit/predict.py: every auto law combined
by its stacking weights), seeded:
- sharp bend inside the data: a broken power law (Caballero et al. 2022; b = 5, c0 = 0.1,
  c1 = 0.6, d1 = 3e5, f1 = 0.1) at n = 100 * 2^k, 14 points fitted (the break lies among the last
  of them), the next 3 predicted, 1% noise: mean relative error of the 3 predictions, against
  power plus constant and bnsl alone;
- a bend beyond the data: the same law with its break at 4x the largest of 10 fitted shards,
  steepening past it (c1 = 0.6), 1% noise: coverage of the truth at 4x and 16x by the mean
  curve's CI and the PI, and how often the combination's "laws part" warning fires;
- few points: 5 and 6 shards x 3 seeds of 0.8 n^-0.3 + 0.02 (3% shard-level, 5% seed noise):
  is every curve predicted, and does the PI at 4x the largest shard cover a new run?

    python3 benchmarks/bench_bends.py [--curves 20] [--replicates 50] [--jobs 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
from scalinglaws.fit.curves import read_fits  # noqa: E402
from scalinglaws.fit.external import TableSpec, fit_table  # noqa: E402
from scalinglaws.fit.laws import make_law  # noqa: E402
from scalinglaws.fit.predict import default_prediction  # noqa: E402

BEND = {"a": 0.0, "b": 5.0, "c0": 0.1, "c1": 0.6, "f1": 0.1}


def bnsl(n, d1):
    return make_law("bnsl")._f(np.asarray(n, float)[:, None], {**BEND, "d1": d1})


def fit_groups(rows: list[dict], args, replicate_col=None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        spec = TableSpec(path, ["auto"], ["x"], "y", group="g", holdout_col="h", replicate_col=replicate_col)
        return read_fits(fit_table(spec, args.replicates, 0, args.jobs))


def sharp_bend_inside(args) -> None:
    n = 100 * 2.0 ** np.arange(17)
    rows = []
    for k in range(args.curves):
        y = bnsl(n, 3e5) * np.exp(0.01 * np.random.default_rng([k, 11]).standard_normal(len(n)))
        rows += [{"g": f"c{k}", "x": a, "y": b, "h": i >= 14} for i, (a, b) in enumerate(zip(n, y))]
    combined, alone, power = [], [], []
    for curve in fit_groups(rows, args).values():
        p = curve.get("power")
        x, y = p.x[p.held_out], p.y[p.held_out]
        combined.append(np.mean(np.abs(default_prediction(curve, 1).predict(x)["prediction"] / y - 1)))
        alone.append(curve.get("bnsl").holdout["mean_rel_error"] if curve.get("bnsl") else np.nan)
        power.append(p.holdout["mean_rel_error"])
    print(f"sharp bend inside the data ({args.curves} curves, 14 points fitted, next 3 predicted, 1% noise):")
    print(f"  mean relative error of the next 3 points: default prediction {100 * np.mean(combined):.1f}%, ")
    print(f"  bnsl alone {100 * np.nanmean(alone):.1f}%, power plus constant {100 * np.mean(power):.1f}%")


def bend_beyond(args) -> None:
    n = 100 * 2.0 ** np.arange(10)
    far = n[-1] * np.array([4.0, 16.0])
    truth = bnsl(far, 4 * n[-1])
    rows = []
    for k in range(args.curves):
        y = bnsl(n, 4 * n[-1]) * np.exp(0.01 * np.random.default_rng([k, 12]).standard_normal(len(n)))
        rows += [{"g": f"c{k}", "x": a, "y": b, "h": False} for a, b in zip(n, y)]
    band, pi, warned, none = [], [], 0, 0
    for curve in fit_groups(rows, args).values():
        pred = default_prediction(curve, 1) or curve.get(curve.default_law(1) or "")
        if pred is None:
            none += 1
            continue
        iv = pred.predict(far[:, None])
        band.append((iv["ci_low"] <= truth) & (truth <= iv["ci_high"]))
        pi.append((iv["pi_low"] <= truth) & (truth <= iv["pi_high"]))
        warned += any(c.get("warning") for c in curve.info.get("combination", []))
    band, pi = np.mean(band, axis=0), np.mean(pi, axis=0)
    print(f"bend beyond the data ({args.curves} curves, break at 4x the largest of 10 shards, steepening):")
    print(f"  the truth inside the mean curve's 95% CI: {100 * band[0]:.0f}% at 4x, {100 * band[1]:.0f}% at 16x;")
    print(f"  inside the 95% PI: {100 * pi[0]:.0f}% at 4x, {100 * pi[1]:.0f}% at 16x;")
    print(f"  the 'laws part beyond the data' warning on {warned} of {args.curves} curves; {none} not predicted")


def few_points(args) -> None:
    for shards in (5, 6):
        n = 1000 * 2.0 ** np.arange(shards + 2)  # the last two shards: 2x and 4x beyond, one new run each
        rows = []
        for k in range(args.curves):
            rng = np.random.default_rng([k, shards, 13])
            mean = 0.8 * n**-0.3 + 0.02
            shard = mean * np.exp(0.03 * rng.standard_normal(len(n)))
            for i, (a, m) in enumerate(zip(n, shard)):
                seeds = 3 if i < shards else 1
                for s in range(seeds):
                    y = m * np.exp(0.05 * rng.standard_normal())
                    rows.append({"g": f"c{k}", "x": a, "y": y, "h": i >= shards, "seed": s})
        curves = fit_groups(rows, args, replicate_col="seed")
        predicted, covered = 0, []
        for curve in curves.values():
            pred = default_prediction(curve, 1) or (curve.get(curve.default_law(1)) if curve.default_law(1) else None)
            if pred is None:
                continue
            predicted += 1
            first = curve.fitted()[0]
            x, y = first.x[first.held_out], first.y[first.held_out]
            iv = pred.predict(x[-1:])
            covered.append(bool(iv["pi_low"][0] <= y[-1] <= iv["pi_high"][0]))
        print(
            f"few points, {shards} shards x 3 seeds ({args.curves} curves): {predicted} predicted; "
            f"a new run at 4x inside the 95% PI {100 * np.mean(covered):.0f}% of the time"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curves", type=int, default=20)
    parser.add_argument("--replicates", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cases", default="inside,beyond,few", help="comma-separated: inside, beyond, few")
    args = parser.parse_args()
    cases = {"inside": sharp_bend_inside, "beyond": bend_beyond, "few": few_points}
    for case in args.cases.split(","):
        cases[case](args)


if __name__ == "__main__":
    main()
