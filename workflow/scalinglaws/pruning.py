"""The pruning stage (Rosenfeld et al. 2021): which trained points are pruned, and the tables,
fits and figures made of their error-vs-density curves.

A pruning job is one (dataset, family, size, shard) point of the study: every seed x learning
rate of it is pruned by IMP (imp.py) in one process. Its identity is the point's training spec
plus the pruning settings and the pruning code, so it is cached in the store like training.
Per point, the learning rate is chosen once, on the dense network's mean validation metric,
and that lineage is followed through all densities. It imports no torch, and only the standard library at import time (the DAG imports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from . import store

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PRUNE_CODE = ("imp.py",)


@dataclass(frozen=True)
class PruneJob:
    key: str
    dataset: str
    family: str
    size: int
    n: int
    shard_key: str
    eval_key: str
    spec: dict


def prune_path(root, key: str) -> Path:
    return Path(root) / "prune" / key / "metrics.json"


def pruning_jobs(study) -> dict[str, PruneJob]:
    """The pruning jobs of the config's `pruning` section ({} without one); every point must be
    a trained point of the study (its dataset, family, size and shard size)."""
    from .study import ConfigError

    cfg = study.config.get("pruning")
    if not cfg:
        return {}
    every = study.train_spec.eval_every
    if cfg["rewind_step"] % every:
        raise ConfigError(
            f"pruning.rewind_step: {cfg['rewind_step']} is not a multiple of training.eval_every ({every})"
        )
    settings = {k: cfg[k] for k in ("fraction", "rewind_step", "iterations")}
    settings["fraction"] = float(settings["fraction"])
    trained = {(j.dataset, j.family, j.size, j.n): j for j in study.jobs.values()}
    code = store.code_version(*PRUNE_CODE)
    jobs = {}
    for i, point in enumerate(cfg["points"]):
        for size in point["sizes"]:
            where = (point["dataset"], point["family"], int(size), int(point["n"]))
            if where not in trained:
                raise ConfigError(f"pruning.points[{i}]: (dataset {where[0]}, family {where[1]}, size {where[2]}, "
                                  f"n {where[3]}) is not a trained point of the study")  # fmt: skip
            job = trained[where]
            spec = {**job.spec, "prune": settings, "prune_code": code}
            key = store.digest(spec)
            jobs[key] = PruneJob(
                key,
                job.dataset,
                job.family,
                job.size,
                job.n,
                job.shard_key,
                job.eval_key,
                spec,
            )
    return jobs


# -- tables ---------------------------------------------------------------------------------------
def load_pruning_runs(paths) -> pd.DataFrame:
    """One row per (member, pruning round) of every record."""
    import pandas as pd

    rows = []
    for path in paths:
        rec = store.read_record(path)
        spec = rec["spec"]
        point = {"dataset": spec["dataset"], "family": spec["family"], "size": spec["size"], "n": spec["n"],
                 "depth": int(spec["model_options"].get("depth", 1)), "metric": spec["metric"]}  # fmt: skip
        rows += [{**point, **run} for run in rec["runs"]]
    return pd.DataFrame(rows)


def select_lineages(runs: pd.DataFrame) -> pd.DataFrame:
    """Per point, the rows of the learning rate with the best dense (round 0) mean validation
    metric; diverged members are left out."""
    runs = runs[
        ~runs["diverged"].astype(bool)
        & runs["val_metric"].notna()
        & runs["test_metric"].notna()
    ]
    point = ["dataset", "family", "size", "n"]
    dense = (
        runs[runs["iteration"] == 0]
        .groupby(point + ["lr"])["val_metric"]
        .mean()
        .reset_index()
    )
    best = dense.loc[dense.groupby(point)["val_metric"].idxmin(), point + ["lr"]]
    return runs.merge(best, on=point + ["lr"])


def curve_table(selected: pd.DataFrame, target: str) -> pd.DataFrame:
    """Per point and density: mean and std over seeds of the target metric."""
    keys = ["dataset", "family", "size", "depth", "n", "lr", "iteration", "density"]
    g = selected.groupby(keys)[f"{target}_metric"]
    return (
        g.agg(["mean", "std", "count"]).reset_index().rename(columns={"count": "seeds"})
    )


# -- fits -----------------------------------------------------------------------------------------
def invariant_inputs(selected: pd.DataFrame, target: str) -> np.ndarray:
    """Rows (d, w, l, eps_np) for every run: eps_np is the mean dense error of its (family, size)."""
    col = f"{target}_metric"
    dense = (
        selected[selected["iteration"] == 0]
        .groupby(["family", "size"])[col]
        .mean()
        .rename("eps_np")
    )
    rows = selected.join(dense, on=["family", "size"])
    return rows[["density", "size", "depth", "eps_np"]].to_numpy(float)


def fit_pruning(
    runs: pd.DataFrame, target: str = "test", replicates: int = 200, seed: int = 0
) -> dict:
    """Per (dataset, n): the density law for every (family, size), and the invariant law across
    all of them, each with bootstrap CIs (seeds resampled within each density) and a backtest
    (the invariant law: fit on the small widths, predict the large ones)."""
    from .bootstrap import resample_runs
    from .fitting import fit_entry
    from .laws import make_law

    selected = select_lineages(runs)
    out = {}
    for (dataset, n), grp in selected.groupby(["dataset", "n"], sort=True):
        entry = {
            "dataset": dataset,
            "n": int(n),
            "target": f"{target}_metric",
            "curves": {},
        }
        y_all = grp[f"{target}_metric"].to_numpy(float)
        for (family, size), cur in grp.groupby(["family", "size"], sort=True):
            x, y = (
                cur["density"].to_numpy(float),
                cur[f"{target}_metric"].to_numpy(float),
            )
            what, reps = resample_runs(x, y, replicates, seed)
            entry["curves"][f"{family}/{size}"] = {"family": family, "size": int(size), "depth": int(cur["depth"].iloc[0]),
                                                   **fit_entry(make_law("pruning"), *_means(x, y), reps, what, seed)}  # fmt: skip
        x = invariant_inputs(grp, target)
        what, reps = resample_runs(x, y_all, replicates, seed)
        entry["invariant"] = fit_entry(
            make_law("pruning-invariant"), *_means(x, y_all), reps, what, seed
        )
        out[f"{dataset}/n={n}"] = entry
    return out


def _means(x, y):
    from .bootstrap import collapse_runs

    points, means, _ = collapse_runs(x, y)
    return (points[:, 0] if points.shape[1] == 1 else points), means


def fit_summary(fits: dict) -> list[str]:
    """Printable lines: every fitted law's parameters and its backtest."""
    lines = []
    for key, entry in fits.items():
        lines.append(f"== {key}")
        for name, e in [*entry["curves"].items(), ("invariant", entry["invariant"])]:
            lines.append(f"-- {name}")
            lines.append(e.get("summary", f"not fitted: {e.get('error')}"))
            bt = e.get("backtest", {})
            if "mean_rel_error" in bt:
                lines.append(f"  fit: mean relative error {100 * e['goodness']['mean_rel_error']:.2f}%; backtest "
                             f"({bt['how']}): {100 * bt['mean_rel_error']:.2f}%")  # fmt: skip
    return lines
