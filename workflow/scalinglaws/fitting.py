"""Fit the study's laws to each learning curve, with bootstrap CIs that resample seeds.

A bootstrap replicate draws the seeds of every shard with replacement, redoes the per-shard
selection of the best (size, learning rate) on validation, and refits: the CIs therefore carry
both the seed noise and the noise of model selection.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .aggregate import GROUP, SIZE_TOLERANCE, config_cube, select_best, usable
from .laws import FitError, PowerLaw, SizeLaw

CI_LEVEL = 0.95


def _interval(samples: np.ndarray) -> list[float] | None:
    samples = samples[np.isfinite(samples)]
    if len(samples) < 2:
        return None
    half = (1 - CI_LEVEL) / 2 * 100
    return [float(np.percentile(samples, half)), float(np.percentile(samples, 100 - half))]


def _fit_or_none(law_cls, x, y):
    try:
        return law_cls().fit(x, y)
    except FitError:
        return None


def bootstrap_curves(val, target, sizes, replicates: int, seed: int, tolerance: float):
    """Yield the per-shard Selection of each seed-resampled replicate."""
    rng = np.random.default_rng(seed)
    n_seeds = val.shape[2]
    for _ in range(replicates):
        pick = rng.integers(0, n_seeds, size=(val.shape[0], n_seeds))
        index = pick[:, None, :].repeat(val.shape[1], 1)  # the same seeds for every config of a shard
        yield select_best(np.take_along_axis(val, index, 2), np.take_along_axis(target, index, 2), sizes, tolerance)


def fit_curve(runs: pd.DataFrame, target: str = "test", replicates: int = 200, seed: int = 0,
              tolerance: float = SIZE_TOLERANCE) -> dict:  # fmt: skip
    """Fit the power law (to the curve) and the best-size law (to the smallest sufficient sizes)."""
    configs, val, test, shards = config_cube(runs)
    tgt = test if target == "test" else val
    n = np.array(shards, float)
    sizes = configs["params"].to_numpy(float)
    sel = select_best(val, tgt, sizes, tolerance)
    out = {"target": f"{target}_metric", "points": len(shards), "shards": [int(s) for s in shards],
           "size_tolerance": tolerance}  # fmt: skip

    def law_data(s):
        return {"power": s.target_mean, "size": sizes[s.smallest]}

    fits = {"power": PowerLaw, "size": SizeLaw}
    boot = {name: [] for name in fits}
    grid = np.geomspace(n.min(), n.max(), 50)
    bands = {name: [] for name in fits}
    for replicate in bootstrap_curves(val, tgt, sizes, replicates, seed, tolerance):
        for name, y in law_data(replicate).items():
            cls = fits[name]
            law = _fit_or_none(cls, n, y)
            if law is not None:
                boot[name].append([law.params_[p] for p in cls.param_names])
                bands[name].append(law.predict(grid))

    for name, yy in law_data(sel).items():
        cls = fits[name]
        law = _fit_or_none(cls, n, yy)
        if law is None:
            out[name] = {"error": f"too few usable points ({int(np.isfinite(yy).sum())}) to fit {cls.formula}"}
            continue
        samples = np.array(boot[name]).reshape(-1, len(cls.param_names))
        band = np.array(bands[name])
        out[name] = {
            "formula": cls.formula,
            "params": {
                p: {"value": law.params_[p], "ci95": _interval(samples[:, i]) if len(samples) else None}
                for i, p in enumerate(cls.param_names)
            },
            "goodness": law.goodness(n, yy),
            "warnings": law.warnings_,
            "bootstrap": {"replicates": int(len(samples)), "resample": "seeds within each shard"},
            "band": {
                "x": grid.tolist(),
                "fit": law.predict(grid).tolist(),
                "lo": np.percentile(band, 2.5, axis=0).tolist() if len(band) else None,
                "hi": np.percentile(band, 97.5, axis=0).tolist() if len(band) else None,
            },
        }
    return out


def fit_study(runs: pd.DataFrame, target: str, replicates: int, seed: int, tolerance: float = SIZE_TOLERANCE) -> dict:
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
            entry.update(fit_curve(good, target, replicates, seed, tolerance))
        else:
            entry["error"] = "no usable runs"
        result[f"{dataset}/{family}"] = entry
    return result
