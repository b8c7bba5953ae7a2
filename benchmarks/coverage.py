"""Coverage of the fits' 95% intervals, measured by simulating studies whose truth is known.

Each simulated study is what the workflow fits: shards 2x apart, 3 seeds per shard, and two
levels of noise in log units, a shard-level term shared by all seeds of a shard (its training
set; 3%) and a seed term (5%). It goes through the study path itself (fit.study.fit_curve:
seeds redrawn within shards with the small-sample correction, shard-level noise estimated and
added, the small-data region decided in every replicate, best-guess error 1.0) and is then
checked against the truth:
- the 95% CIs of alpha, beta and gamma (the parameters of the power law inside the truth);
- the 95% confidence band of the mean curve at 4x and 10x the largest shard;
- the 95% prediction interval for one new run (a new training set and seed) at the largest
  shard and at 4x it;
- the warning lines the fit gives (each fitted law's warnings and its backtest's, and the
  combination's), per curve: the goal on clean curves is at most one line per two curves.

With `--laws` naming several laws of the learning curve (e.g. power,power-pure,envelope,m4,bnsl,
what `scalinglaws fit --law auto` fits), the band and the PI are the default prediction's (the
laws combined by their stacking weights, fit/mixture.py) and the parameters power's.

Cases:
- clean: a power law 5 n^-0.5 + 0.01 on 8 shards from 128 (whose error 0.45 is near enough to
  the best guess for the region test to run, and should rarely fire);
- small-data: 10 n^-0.5 + 0.02 on 10 shards from 64, bent sharply toward the best guess 1.0 at
  the smallest shards (the curve of tests/test_laws.py), so the region test must leave them out;
- misspecified: a smoothly broken power law (Caballero et al. 2022) whose exponent steepens from
  -0.3 to -0.7 around n = 2,000, fitted by the plain law: the parameters have no truth there, and
  the extrapolated band is reported as it is.

    python benchmarks/coverage.py --jobs 2            # 100 studies x 100 replicates per case
    python benchmarks/coverage.py --studies 40 --replicates 50 --cases clean
    python benchmarks/coverage.py --studies 60 --replicates 50 --cases clean --laws power,power-pure,envelope,m4,bnsl
Figures are in benchmarks/RESULTS.md; tests/test_coverage.py runs a small version.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from scalinglaws.fit.curves import CurveFits  # noqa: E402
from scalinglaws.fit.predict import default_prediction  # noqa: E402
from scalinglaws.fit.study import StudyFit, fit_curve  # noqa: E402

SEEDS, SHARD_SD, SEED_SD, BEST_GUESS = 3, 0.03, 0.05, 1.0
AT = {"band_4x": 4.0, "band_10x": 10.0}
PI_AT = {"pi_1x": 1.0, "pi_4x": 4.0}


def power(n, p):
    return p["alpha"] * n ** p["beta"] + p["gamma"]


def bent_to_best_guess(n, p):
    clean = power(n, p)
    return BEST_GUESS * clean / (clean**4 + BEST_GUESS**4) ** 0.25


def broken(n, p):
    return 0.01 + 3.0 * n**-0.3 * (1 + (n / 2000.0) ** 2) ** (-0.4 / 2)


CASES = {
    "clean": (128 * 2.0 ** np.arange(8), power, {"alpha": 5.0, "beta": -0.5, "gamma": 0.01}),
    "small-data": (64 * 2.0 ** np.arange(10), bent_to_best_guess, {"alpha": 10.0, "beta": -0.5, "gamma": 0.02}),
    "misspecified": (128 * 2.0 ** np.arange(8), broken, None),
}


def simulate(case: str, rng) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(shards, the true mean curve's function, the runs table of one simulated study)."""
    n, curve, params = CASES[case]
    truth = curve(n, params)
    y = truth[:, None] * np.exp(
        SHARD_SD * rng.standard_normal((len(n), 1)) + SEED_SD * rng.standard_normal((len(n), SEEDS))
    )
    runs = pd.DataFrame(
        {
            "n": np.repeat(n, SEEDS).astype(int),
            "seed": np.tile(np.arange(SEEDS), len(n)),
            "size": 1,
            "params": 100,
            "lr": 0.1,
            "val_metric": y.ravel(),
            "test_metric": y.ravel(),
        }
    )
    return n, truth, runs


def warning_lines(fit: CurveFits) -> int:
    """The warning lines a user reads for the curve: each fitted law's warnings and its
    backtest's, and the combination's."""
    laws = sum(len(r.all_warnings()) for r in fit.fitted())
    return laws + sum(bool(c.get("warning")) for c in fit.info.get("combination", []))


def one_study(case: str, seed: int, replicates: int, laws: tuple[str, ...] = ("power",)) -> dict:
    """Which of the study's intervals contain the truth (NaN: no interval or no truth), and how
    many warning lines its fit gives."""
    rng = np.random.default_rng([seed, 7])
    n, _, runs = simulate(case, rng)
    _, curve, params = CASES[case]
    fit = CurveFits("", fit_curve(runs, StudyFit(replicates=replicates, seed=seed, laws=laws), BEST_GUESS))
    out = fit.get("power")
    hit = {"warnings": warning_lines(fit)}
    for p in ("alpha", "beta", "gamma"):
        ci = out.params[p].ci95
        hit[p] = np.nan if params is None or ci is None else float(ci[0] <= params[p] <= ci[1])
    at = n.max() * np.array([*AT.values(), *PI_AT.values()])
    iv = (default_prediction(fit, 1) or out).predict(at[:, None])
    true_mean = curve(at, params) if params is not None else curve(at, None)
    for i, key in enumerate(AT):
        hit[key] = float(iv["ci_low"][i] <= true_mean[i] <= iv["ci_high"][i])
    new_run = true_mean * np.exp(SHARD_SD * rng.standard_normal(len(at)) + SEED_SD * rng.standard_normal(len(at)))
    for i, key in enumerate(PI_AT, start=len(AT)):
        hit[key] = float(iv["pi_low"][i] <= new_run[i] <= iv["pi_high"][i])
    hit["small_data_shards"] = len(out.regions["small_data_n"])
    return hit


def coverage(case: str, studies: int, replicates: int, jobs: int = 1, laws: tuple[str, ...] = ("power",)) -> dict:
    """Mean of every hit over `studies` simulated studies (seeds 0..studies-1), in `jobs` processes."""
    args = [(case, seed, replicates, laws) for seed in range(studies)]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            hits = list(pool.map(one_study, *zip(*args)))
    else:
        hits = [one_study(*a) for a in args]
    return pd.DataFrame(hits).mean(skipna=True).to_dict()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=100)
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--jobs", type=int, default=1, help="processes (the studies are independent)")
    ap.add_argument("--laws", default="power", help="the learning curve's laws (power among them); several: combined")
    args = ap.parse_args(argv)
    laws = tuple(args.laws.split(","))
    columns = ["alpha", "beta", "gamma", *AT, *PI_AT, "small_data_shards", "warnings"]
    print(f"{args.studies} studies x {args.replicates} replicates, nominal 95%, laws {', '.join(laws)}")
    print("| case | " + " | ".join(columns) + " | seconds |")
    print("|---" * (len(columns) + 2) + "|")
    for case in args.cases.split(","):
        start = time.time()
        cov = coverage(case, args.studies, args.replicates, args.jobs, laws)
        cells = [
            f"{cov[c]:.2f}"
            if c in ("small_data_shards", "warnings")
            else ("n/a" if np.isnan(cov[c]) else f"{100 * cov[c]:.0f}%")
            for c in columns
        ]
        print(f"| {case} | " + " | ".join(cells) + f" | {time.time() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
