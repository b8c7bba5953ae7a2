"""Is a point the best its model family can do at that n? Flags for what limited it.

A run is limited by steps when its best step is in the last 10% of its final budget (the trainer
says so: `min_steps` when that budget was the floor, else `step_budget`). A run whose learning
rate is the best of its (n, size) cell and the lowest or highest tried there is limited by the
grid (`lr_low_edge`, `lr_high_edge`). A learning-curve point carries the flags of its winning
runs, and `size_edge` when its best size (the smallest within tolerance of the winner) is the
smallest or largest size tried. A point is limited by the optimiser (`optimizer`) when the
probe that every job runs from each member's reported state (a short decay from a tenth of its
rate: trainer.Annealing) improves its winning runs' validation metric, on average over seeds, by
more than the point's seed noise: the standard error of their mean validation metric. Such a
point is the optimiser's floor at a constant rate, not its family's best at that n (issue 27);
`training.cooldown` is the remedy. `none` means no limit was seen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ORDER = ("min_steps", "step_budget", "lr_low_edge", "lr_high_edge", "size_edge", "optimizer")
CELL = ["dataset", "family", "n", "size"]


def join(reasons) -> str:
    """The reasons in a fixed order, joined by '+'; 'none' when there are none."""
    found = {r for text in reasons for r in str(text).split("+") if r in ORDER}
    return "+".join(r for r in ORDER if r in found) or "none"


def with_lr_edges(runs: pd.DataFrame) -> pd.Series:
    """Every run's limited_by: its own step limit, plus an lr-edge flag where its learning rate
    is the best of its cell (mean validation metric over seeds; diverged runs count as worst)."""
    steps = runs["limited_by"].fillna("none") if "limited_by" in runs else pd.Series("none", index=runs.index)
    val = runs["val_metric"].astype(float).where(~runs["diverged"].astype(bool), np.inf).fillna(np.inf)
    by_lr = val.groupby([runs[c] for c in CELL] + [runs["lr"]]).mean()
    out = steps.astype(str).copy()
    for cell, means in by_lr.groupby(level=list(range(len(CELL)))):
        lrs = means.index.get_level_values("lr")
        if len(lrs) < 2 or not np.isfinite(means.min()):
            continue
        best = lrs[int(np.argmin(means.to_numpy()))]
        edge = "lr_low_edge" if best == lrs.min() else "lr_high_edge" if best == lrs.max() else None
        if edge:
            rows = (runs[CELL] == pd.Series(cell, index=CELL)).all(axis=1) & (runs["lr"] == best)
            out[rows] = [join([r, edge]) for r in out[rows]]
    return out.map(lambda r: join([r]))


def point_limits(winner_runs: pd.DataFrame, best_size: int, sizes) -> str:
    """A learning-curve point's limited_by: its winning runs' flags, and the size grid's edges."""
    reasons = list(winner_runs["limited_by"]) if "limited_by" in winner_runs else []
    if len(sizes) > 1 and best_size in (min(sizes), max(sizes)):
        reasons.append("size_edge")
    gain, noise = probe_gain(winner_runs)
    if gain > noise:
        reasons.append("optimizer")
    return join(reasons)


def probe_gain(winner_runs: pd.DataFrame) -> tuple[float, float]:
    """(what the probe gains on the winning runs' validation metric, mean over seeds; the
    point's seed noise, the standard error of their mean). The gain is a paired difference, so
    its own noise is far below the seed spread. (nan, nan) without probe numbers (records from
    before the probe) or with fewer than 2 seeds: no flag can be decided then."""
    if "val_probe" not in winner_runs:
        return np.nan, np.nan
    val = winner_runs["val_metric"].astype(float)
    gain = val - winner_runs["val_probe"].astype(float)
    ok = np.isfinite(gain)
    if ok.sum() < 2:
        return np.nan, np.nan
    return float(gain[ok].mean()), float(val[ok].std(ddof=1) / np.sqrt(ok.sum()))
