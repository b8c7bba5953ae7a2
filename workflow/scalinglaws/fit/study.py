"""Fit a study's laws to every learning curve (`fit_study`), one law at a time by fit_entry.

A bootstrap replicate draws the seeds of every shard with replacement and redoes the per-shard
selection of the best (size, learning rate) on validation before refitting, so the CIs carry
both the seed noise and the noise of model selection.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from ..aggregate.runs import GROUP, usable
from ..aggregate.selection import SIZE_TOLERANCE, config_cube, per_size_best, select_best
from .entry import fit_entry
from .laws import make_law
from .selection import select_law
from .uncertainty import resample_seeds

DEFAULT_LAWS = ("power", "size")
# What each law is fitted to in a study: the learning curve, the best size per shard, or the
# error of every (model size, shard) at its best learning rate.
CURVE_LAWS, SIZE_LAWS, JOINT_LAWS = ("power", "bnsl", "bnsl2"), ("size",), ("joint", "joint-additive", "chinchilla")


def fit_curve(runs: pd.DataFrame, target: str = "test", replicates: int = 200, seed: int = 0,
              tolerance: float = SIZE_TOLERANCE, laws: Iterable[str] = DEFAULT_LAWS) -> dict:  # fmt: skip
    """Fit the configured laws to one (dataset, family): `power`/`bnsl` to the learning curve,
    `size` to the smallest sufficient sizes, `joint`/`chinchilla` to error vs (size, shard)."""
    configs, val, test, shards = config_cube(runs)
    tgt = test if target == "test" else val
    n = np.array(shards, float)
    params = configs["params"].to_numpy(float)
    sizes = np.unique(params)
    x = {"curve": n, "size": n, "joint": np.column_stack([np.tile(sizes, len(n)), np.repeat(n, len(sizes))])}

    def law_data(v, t) -> dict:
        sel = select_best(v, t, params, tolerance)
        out = {"curve": sel.target_mean, "size": params[sel.smallest]}
        if any(name in JOINT_LAWS for name in laws):
            out["joint"] = per_size_best(v, t, params, sizes).ravel()
        return out

    observed = law_data(val, tgt)
    replicate_data = [law_data(v, t) for v, t in resample_seeds(val, tgt, replicates, seed)]
    out = {"target": f"{target}_metric", "points": len(shards), "shards": [int(s) for s in shards],
           "size_tolerance": tolerance, "laws": list(laws)}  # fmt: skip
    for name in laws:
        source = "curve" if name in CURVE_LAWS else "size" if name in SIZE_LAWS else "joint"
        if source == "joint" and len(sizes) < 2:
            out[name] = {"law": name, "error": f"{name} needs several model sizes; this curve has one"}
            continue
        reps = ((x[source], r[source]) for r in replicate_data)
        out[name] = fit_entry(make_law(name), x[source], observed[source], reps, seed=seed,
                              resample="seeds within each shard, model selection redone",
                              axis=1 if source == "joint" else 0)  # backtests cut along n  # fmt: skip
    choices = [select_law({k: out[k] for k in laws if k in group}, among)
               for group, among in ((CURVE_LAWS, "learning curve"), (JOINT_LAWS, "error vs (size, n)"))]  # fmt: skip
    out["selection"] = [c for c in choices if c]
    return out


def fit_study(runs: pd.DataFrame, target: str, replicates: int, seed: int, tolerance: float = SIZE_TOLERANCE,
              laws: Iterable[str] = DEFAULT_LAWS) -> dict:  # fmt: skip
    """Fits for every (dataset, family) curve, keyed "dataset/family"."""
    result = {}
    ok = usable(runs)
    for (dataset, family), grp in runs.groupby(GROUP, sort=True):
        good = ok[(ok["dataset"] == dataset) & (ok["family"] == family)]
        entry = {
            "dataset": dataset,
            "family": family,
            "runs": int(len(grp)),
            "excluded_diverged": int(grp["diverged"].astype(bool).sum()),
            "excluded_total": int(len(grp) - len(good)),
        }
        if len(good):
            entry.update(fit_curve(good, target, replicates, seed, tolerance, tuple(laws)))
        else:
            entry["error"] = "no usable runs"
        result[f"{dataset}/{family}"] = entry
    return result
