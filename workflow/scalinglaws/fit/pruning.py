"""The pruning stage's fits (Rosenfeld et al. 2021): per (dataset, n), the density law for every
(family, size) and the invariant law across all of them, with bootstrap CIs and backtests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..aggregate.pruning import select_lineages
from .entry import fit_entry
from .laws import DensityLaw, InvariantPruningLaw
from .uncertainty import Replicates, collapse_runs, resample_runs


def invariant_inputs(selected: pd.DataFrame, target: str) -> np.ndarray:
    """Rows (d, w, l, eps_np) for every run: eps_np is the mean dense error of its (family, size)."""
    col = f"{target}_metric"
    dense = selected[selected["iteration"] == 0].groupby(["family", "size"])[col].mean().rename("eps_np")
    rows = selected.join(dense, on=["family", "size"])
    return rows[["density", "size", "depth", "eps_np"]].to_numpy(float)


def fit_pruning(runs: pd.DataFrame, target: str = "test", replicates: int = 200, seed: int = 0) -> dict:
    """Per (dataset, n): the density law for every (family, size), and the invariant law across
    all of them, each with bootstrap CIs (seeds resampled within each density) and a backtest
    (the invariant law: fit on the small widths, predict the large ones)."""
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
            entry["curves"][f"{family}/{size}"] = {
                "family": family,
                "size": int(size),
                "depth": int(cur["depth"].iloc[0]),
                **fit_entry(DensityLaw(), *_means(x, y), Replicates(reps, what, seed)),
            }
        x = invariant_inputs(grp, target)
        what, reps = resample_runs(x, y_all, replicates, seed)
        entry["invariant"] = fit_entry(InvariantPruningLaw(), *_means(x, y_all), Replicates(reps, what, seed))
        out[f"{dataset}/n={n}"] = entry
    return out


def _means(x, y):
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
                lines.append(
                    f"  fit: mean relative error {100 * e['goodness']['mean_rel_error']:.2f}%; backtest "
                    f"({bt['how']}): {100 * bt['mean_rel_error']:.2f}%"
                )
    return lines
