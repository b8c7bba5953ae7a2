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
    "dataset",
    "family",
    "size",
    "params",
    "n",
    "seed",
    "lr",
    "train_loss",
    "train_metric",
    "val_loss",
    "val_metric",
    "test_loss",
    "test_metric",
    "steps",
    "step_budget",
    "best_step",
    "budget",
    "stopped_by",
    "limited_by",
    "cooldown_steps",
    "val_constant",
    "val_probe",
    "lr_round",
    "batch_size",
    "flops",
    "wall_time_s",
    "members",
    "device",
    "diverged",
    "metric",
    "job_key",
]
# Provenance of each job's rows (its record's `provenance`: identity.provenance)
PROVENANCE = {
    "scalinglaws": "scalinglaws_version",
    "commit": "git_commit",
    "torch": "torch_version",
    "numpy": "numpy_version",
    "config": "config_hash",
}
GROUP = ["dataset", "family"]


def load_runs(paths: list[str | Path], labels: dict[str, list[list[str]]]) -> pd.DataFrame:
    """One row per run from the jobs' metrics.json files; `labels` names each job's
    (dataset, family) in this study (Study.labels: names are not part of a record)."""
    rows = []
    for path in paths:
        job = read_record(path)
        spec, made = job["spec"], job.get("provenance", {})
        provenance = {column: made.get(field) for field, column in PROVENANCE.items()}
        for dataset, family in labels[job["key"]]:
            for run in job["runs"]:
                rows.append(
                    {
                        "dataset": dataset,
                        "family": family,
                        "size": spec["size"],
                        "n": spec["n"],
                        "metric": spec["metric"],
                        "job_key": job["key"],
                        **run,
                        **provenance,
                    }
                )
    df = pd.DataFrame(rows, columns=RUN_COLUMNS + list(PROVENANCE.values()))
    df["limited_by"] = with_lr_edges(df)  # records from before the flags existed read as "none"
    return df.sort_values(["dataset", "family", "n", "size", "lr", "seed"], ignore_index=True)


def usable(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs that enter curves and fits: not diverged and with finite metrics."""
    ok = ~runs["diverged"].astype(bool) & np.isfinite(runs["val_metric"].astype(float))
    return runs[ok & np.isfinite(runs["test_metric"].astype(float))]
