"""The pruning stage's tables (Rosenfeld et al. 2021): every pruned run, and per point the
error-vs-density curve of the learning rate chosen once on the dense network."""

from __future__ import annotations

import pandas as pd

from .. import store


def load_pruning_runs(paths) -> pd.DataFrame:
    """One row per (member, pruning round) of every record."""
    import pandas as pd

    rows = []
    for path in paths:
        rec = store.read_record(path)
        spec = rec["spec"]
        point = {
            "dataset": spec["dataset"],
            "family": spec["family"],
            "size": spec["size"],
            "n": spec["n"],
            "depth": int(spec["model_options"].get("depth", 1)),
            "metric": spec["metric"],
        }
        rows += [{**point, **run} for run in rec["runs"]]
    return pd.DataFrame(rows)


def select_lineages(runs: pd.DataFrame) -> pd.DataFrame:
    """Per point, the rows of the learning rate with the best dense (round 0) mean validation
    metric; diverged members are left out."""
    runs = runs[~runs["diverged"].astype(bool) & runs["val_metric"].notna() & runs["test_metric"].notna()]
    point = ["dataset", "family", "size", "n"]
    dense = runs[runs["iteration"] == 0].groupby(point + ["lr"])["val_metric"].mean().reset_index()
    best = dense.loc[dense.groupby(point)["val_metric"].idxmin(), point + ["lr"]]
    return runs.merge(best, on=point + ["lr"])


def curve_table(selected: pd.DataFrame, target: str) -> pd.DataFrame:
    """Per point and density: mean and std over seeds of the target metric."""
    keys = ["dataset", "family", "size", "depth", "n", "lr", "iteration", "density"]
    g = selected.groupby(keys)[f"{target}_metric"]
    return g.agg(["mean", "std", "count"]).reset_index().rename(columns={"count": "seeds"})
