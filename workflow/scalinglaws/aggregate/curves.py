"""From all runs to the study's tables: the learning curve and the error vs model size.

The learning curve follows Hestness et al.: per shard, the (size, learning rate) configuration
with the best mean validation metric over seeds wins; its metrics (mean and std over seeds)
are the curve's point. The best model size of a shard is the smallest size that comes within a
tolerance of that winner (selection.py). Diverged runs are excluded and counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .diagnostics import point_limits, probe_gain
from .runs import GROUP, usable
from .selection import SIZE_TOLERANCE, config_cube, select_best


def learning_curve(runs: pd.DataFrame, tolerance: float = SIZE_TOLERANCE) -> pd.DataFrame:
    """Per (dataset, family, shard): the winning config and its metrics over seeds."""
    out = []
    for (dataset, family), grp in usable(runs).groupby(GROUP, sort=True):
        configs, val, test, shards = config_cube(grp)
        sel = select_best(val, test, configs["params"].to_numpy(float), tolerance)
        for i, n in enumerate(shards):
            cfg, small = configs.iloc[sel.best[i]], configs.iloc[sel.smallest[i]]
            won = grp[(grp["n"] == n) & (grp["size"] == cfg["size"]) & (grp["lr"] == cfg["lr"])]
            tried = grp.loc[grp["n"] == n, "size"].unique()
            gain, noise = probe_gain(won)
            out.append(
                {
                    "dataset": dataset,
                    "family": family,
                    "n": int(n),
                    "val_mean": sel.val_mean[i],
                    "val_std": sel.val_std[i],
                    "test_mean": sel.target_mean[i],
                    "test_std": sel.target_std[i],
                    "seeds": int(np.isfinite(val[i, sel.best[i]]).sum()),
                    "size": int(cfg["size"]),
                    "params": int(cfg["params"]),
                    "lr": float(cfg["lr"]),
                    "best_size": int(small["size"]),
                    "best_params": int(small["params"]),
                    "metric": grp["metric"].iloc[0],
                    "limited_by": point_limits(won, int(small["size"]), tried),
                    "best_step": int(won["best_step"].max()),
                    "budget": _max_or_none(won.get("budget", pd.Series())),
                    "probe_gain": gain,  # the `optimizer` flag's numbers (diagnostics.py)
                    "seed_noise": noise,
                }
            )
    return pd.DataFrame(out)


def _max_or_none(values: pd.Series) -> int | None:
    """The largest value, or None where the records do not have it (older records)."""
    values = values.dropna()
    return int(values.max()) if len(values) else None


def size_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Error vs model size per shard: best learning rate per (shard, size), mean over seeds."""
    ok = usable(runs)
    per_cfg = ok.groupby(GROUP + ["n", "size", "params", "lr"], as_index=False).agg(
        val_mean=("val_metric", "mean"), test_mean=("test_metric", "mean"), test_std=("test_metric", "std")
    )
    best = per_cfg.loc[per_cfg.groupby(GROUP + ["n", "size"])["val_mean"].idxmin()]
    return best.sort_values(GROUP + ["n", "size"], ignore_index=True)
