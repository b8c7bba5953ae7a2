"""Model selection per shard, as Hestness et al. do it: the best (size, learning rate) on
validation, and the smallest size that comes within a tolerance of it.

Runs are arranged as [shard, config, seed] cubes so that the bootstrap can redraw seeds and
redo the selection on every replicate.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..configfile import schema_default

# a size is "as good as the best" within this fraction of the best validation metric (5%)
SIZE_TOLERANCE = schema_default("fit", "size_tolerance")


def config_cube(runs: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[int]]:
    """Arrange one curve's runs as [shard, config, seed] cubes of val and test metric.

    Returns (configs, val, test, shards): configs has one row per (size, lr); runs that are
    missing or excluded are NaN, so that resampling seeds keeps every axis aligned.
    """
    shards = sorted(runs["n"].unique())
    configs = runs[["size", "params", "lr"]].drop_duplicates().sort_values(["size", "lr"], ignore_index=True)
    seeds = sorted(runs["seed"].unique())
    val = np.full((len(shards), len(configs), len(seeds)), np.nan)
    test = np.full_like(val, np.nan)
    ci = {(r.size, r.lr): i for i, r in enumerate(configs.itertuples())}
    si, ni = {s: i for i, s in enumerate(seeds)}, {n: i for i, n in enumerate(shards)}
    for r in runs.itertuples():
        idx = (ni[r.n], ci[(r.size, r.lr)], si[r.seed])
        val[idx], test[idx] = r.val_metric, r.test_metric
    return configs, val, test, shards


@dataclass
class Selection:
    """Per-shard outcome of model selection on validation (arrays indexed by shard)."""

    best: np.ndarray  # config index with the lowest mean validation metric
    val_mean: np.ndarray
    val_std: np.ndarray
    target_mean: np.ndarray
    target_std: np.ndarray
    smallest: np.ndarray  # config index of the smallest size within tolerance of the best


def select_best(val: np.ndarray, target: np.ndarray, sizes: np.ndarray, tolerance: float = SIZE_TOLERANCE) -> Selection:
    """Per shard, the config with the lowest mean validation metric over seeds, and the
    smallest model size whose best mean validation metric is within `tolerance` of it.

    With early stopping a larger model is rarely worse, so "the size that wins" drifts to the
    largest on the grid; "the smallest size that is as good" is what grows with data.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are handled below
        mean_val = np.nanmean(val, axis=2)
        mean_val = np.where(np.isnan(mean_val), np.inf, mean_val)
        best = mean_val.argmin(axis=1)
        rows = np.arange(len(best))
        v, t = val[rows, best], target[rows, best]
        good_enough = mean_val <= (1 + tolerance) * mean_val[rows, best][:, None]
        # among good-enough configs, the smallest size, and at that size the best learning rate
        score = np.where(good_enough, sizes[None, :] * 1e12 + mean_val.clip(max=1e11), np.inf)
        return Selection(best, np.nanmean(v, 1), np.nanstd(v, 1), np.nanmean(t, 1), np.nanstd(t, 1), score.argmin(1))


def per_size_best(val: np.ndarray, target: np.ndarray, params: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """[shard, size]: the mean target metric at each size's best learning rate (on validation)."""
    out = np.full((val.shape[0], len(sizes)), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: missing runs
        mean_val, mean_tgt = np.nanmean(val, axis=2), np.nanmean(target, axis=2)
    mean_val = np.where(np.isnan(mean_val), np.inf, mean_val)
    for j, m in enumerate(sizes):
        cols = np.flatnonzero(params == m)
        best = cols[mean_val[:, cols].argmin(axis=1)]
        out[:, j] = mean_tgt[np.arange(len(best)), best]
    return out
