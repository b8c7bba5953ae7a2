"""From per-job metrics to tidy tables: every run, the learning curve, the best size per shard.

The learning curve follows Hestness et al.: per shard, the (size, learning rate) configuration
with the best mean validation metric over seeds wins; its metrics (mean and std over seeds)
are the curve's point. The best model size of a shard is the smallest size that comes within a
tolerance of that winner. Diverged runs are excluded and counted.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .store import read_record

RUN_COLUMNS = [
    "dataset", "family", "size", "params", "n", "seed", "lr",
    "train_loss", "train_metric", "val_loss", "val_metric", "test_loss", "test_metric",
    "steps", "step_budget", "best_step", "batch_size", "flops", "wall_time_s", "members",
    "device", "diverged", "metric", "job_key",
]  # fmt: skip
GROUP = ["dataset", "family"]
SIZE_TOLERANCE = 0.05  # a size is "as good as the best" within 5% of the best validation metric


def load_runs(paths: list[str | Path]) -> pd.DataFrame:
    """One row per run from the jobs' metrics.json files."""
    rows = []
    for path in paths:
        job = read_record(path)
        spec = job["spec"]
        for run in job["runs"]:
            rows.append({
                "dataset": spec["dataset"], "family": spec["family"], "size": spec["size"],
                "n": spec["n"], "metric": spec["metric"], "job_key": job["key"], **run,
            })  # fmt: skip
    df = pd.DataFrame(rows, columns=RUN_COLUMNS)
    return df.sort_values(["dataset", "family", "n", "size", "lr", "seed"], ignore_index=True)


def usable(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs that enter curves and fits: not diverged and with finite metrics."""
    ok = ~runs["diverged"].astype(bool) & np.isfinite(runs["val_metric"].astype(float))
    return runs[ok & np.isfinite(runs["test_metric"].astype(float))]


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


def learning_curve(runs: pd.DataFrame, tolerance: float = SIZE_TOLERANCE) -> pd.DataFrame:
    """Per (dataset, family, shard): the winning config and its metrics over seeds."""
    out = []
    for (dataset, family), grp in usable(runs).groupby(GROUP, sort=True):
        configs, val, test, shards = config_cube(grp)
        sel = select_best(val, test, configs["params"].to_numpy(float), tolerance)
        for i, n in enumerate(shards):
            cfg, small = configs.iloc[sel.best[i]], configs.iloc[sel.smallest[i]]
            out.append({
                "dataset": dataset, "family": family, "n": int(n),
                "val_mean": sel.val_mean[i], "val_std": sel.val_std[i],
                "test_mean": sel.target_mean[i], "test_std": sel.target_std[i],
                "seeds": int(np.isfinite(val[i, sel.best[i]]).sum()),
                "size": int(cfg["size"]), "params": int(cfg["params"]), "lr": float(cfg["lr"]),
                "best_size": int(small["size"]), "best_params": int(small["params"]),
                "metric": grp["metric"].iloc[0],
            })  # fmt: skip
    return pd.DataFrame(out)


def size_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Error vs model size per shard: best learning rate per (shard, size), mean over seeds."""
    ok = usable(runs)
    per_cfg = ok.groupby(GROUP + ["n", "size", "params", "lr"], as_index=False).agg(
        val_mean=("val_metric", "mean"), test_mean=("test_metric", "mean"), test_std=("test_metric", "std")
    )
    best = per_cfg.loc[per_cfg.groupby(GROUP + ["n", "size"])["val_mean"].idxmin()]
    return best.sort_values(GROUP + ["n", "size"], ignore_index=True)
