"""Backtests: does a law fitted on the small scales predict the large ones?

A backtest refits a fresh copy of the law on the points up to a cutoff along one input (the
first k shards, the smaller models, ...) and scores its prediction of every point beyond it by
the relative error |predicted - observed| / observed (selection.py ranks laws by it).
"""

from __future__ import annotations

import numpy as np

from .laws import FitError, Law
from .laws.base import as_inputs

MAX_CUTOFFS = 4
MIN_TRAIN_SCALES = 3  # distinct values of the cut input that a training split must span


def _split_result(law: Law, x, y, train, x_name: str, cut: np.ndarray) -> dict:
    split = {"train_max": float(cut[train].max()), "train_points": int(train.sum()), "test_points": int((~train).sum())}
    try:
        fitted = law.clone().fit(x[train], y[train])
    except FitError as exc:
        return {**split, "error": str(exc)}
    pred = fitted.predict(x[~train])
    rel = np.abs(pred - y[~train]) / y[~train]
    return {
        **split,
        "mean_rel_error": float(rel.mean()),
        "max_rel_error": float(rel.max()),
        "params": fitted.params_,
        x_name: cut[~train].tolist(),
        "observed": y[~train].tolist(),
        "predicted": pred.tolist(),
    }


def backtest(law: Law, x, y, axis: int | None = None, holdout=None, max_cutoffs: int = MAX_CUTOFFS) -> dict:
    """Fit on the points up to each cutoff along input `axis` (default: the law's), predict the
    rest. With a boolean `holdout`, instead one split: fit on the rest, predict the held out.
    The score, `mean_rel_error`, is the mean over splits of each split's mean relative error."""
    x = as_inputs(x, len(law.x_names))
    y = np.asarray(y, float)
    axis = law.axis if axis is None else axis
    cut, x_name = x[:, axis], law.x_names[axis]
    if holdout is not None:
        holdout = np.asarray(holdout, bool)
        masks, how = [~holdout], "fit on the rows not held out, predict the held-out rows"
    else:
        need = len(law.free) + 1
        levels = np.unique(cut)
        masks = [cut <= c for c in levels[MIN_TRAIN_SCALES - 1 : -1] if (cut <= c).sum() >= need]
        if len(masks) > max_cutoffs:
            masks = [masks[i] for i in np.linspace(0, len(masks) - 1, max_cutoffs).round().astype(int)]
        how = f"fit on {x_name} <= cutoff, predict {x_name} > cutoff"
    splits = [_split_result(law, x, y, m, x_name, cut) for m in masks if m.any() and (~m).any()]
    scores = [s["mean_rel_error"] for s in splits if "mean_rel_error" in s]
    out = {"axis": x_name, "how": how, "splits": splits}
    if scores:
        out["mean_rel_error"] = float(np.mean(scores))
        all_rel = np.concatenate([np.abs(np.subtract(s["predicted"], s["observed"])) / np.array(s["observed"])
                                  for s in splits if "predicted" in s])  # fmt: skip
        out["std_rel_error"] = float(all_rel.std())
    else:
        out["error"] = "no split could be fitted" if splits else f"too few distinct {x_name} values for a backtest"
    return out
