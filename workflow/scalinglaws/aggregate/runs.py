"""Every run of a study as one tidy table, from the jobs' stored records.

Diverged runs stay in the table (flagged); `usable` is the filter that curves and fits apply.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..store import read_record
from .diagnostics import with_lr_edges

RUN_COLUMNS = [
    "dataset", "family", "size", "params", "n", "seed", "lr",
    "train_loss", "train_metric", "val_loss", "val_metric", "test_loss", "test_metric",
    "steps", "step_budget", "best_step", "budget", "stopped_by", "limited_by", "lr_round", "batch_size", "flops",
    "wall_time_s", "members", "device", "diverged", "metric", "job_key",
]  # fmt: skip
GROUP = ["dataset", "family"]


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
    df["limited_by"] = with_lr_edges(df)  # records from before the flags existed read as "none"
    return df.sort_values(["dataset", "family", "n", "size", "lr", "seed"], ignore_index=True)


def usable(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs that enter curves and fits: not diverged and with finite metrics."""
    ok = ~runs["diverged"].astype(bool) & np.isfinite(runs["val_metric"].astype(float))
    return runs[ok & np.isfinite(runs["test_metric"].astype(float))]
