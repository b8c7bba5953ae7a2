"""Backtests: does a law fitted on the small scales predict the large ones?

A backtest refits a fresh copy of the law on the points up to a cutoff along one input (the
first k shards, the smaller models, ...) and scores its prediction of every point beyond it by
the relative error |predicted - observed| / observed and by the RMSE of log(y), which
selection.py compares across laws. The cutoffs are rolling origins: the largest MAX_CUTOFFS
values of the input whose training part the law can be fitted on. Laws with more parameters
get a subset of the cutoffs of laws with fewer, so laws can be compared on the splits they share.
Rows held out by the user are never part of a backtest: `score_holdout` only predicts them
with the law already fitted to the rest.
"""

from __future__ import annotations

import numpy as np

from .combine import predictive_log_sd
from .laws import FitError, Law
from .laws.base import as_inputs

MAX_CUTOFFS = 4
POOR = 0.5  # a mean relative backtest error above this gets a warning: the law should not be extrapolated
MIN_TRAIN_SCALES = 3  # distinct values of the cut input that a training split must span


def _split_result(law: Law, x, y, train, x_name: str, cut: np.ndarray) -> dict:
    split = {"train_max": float(cut[train].max()), "train_points": int(train.sum()), "test_points": int((~train).sum())}
    try:
        fitted = law.clone().fit(x[train], y[train])
    except FitError as exc:
        return {**split, "error": str(exc)}
    return {
        **split,
        **_scores(fitted, x[~train], y[~train], x_name, cut[~train]),
        "distance": (cut[~train] / split["train_max"]).tolist(),
        **predictive_log_sd(fitted, x[train], y[train], x[~train]),  # for the stacking weights (combine.py)
    }


def _scores(fitted: Law, x, y, x_name: str, cut) -> dict:
    """How well a fitted law predicts points (x, y); a non-finite prediction is a failed split."""
    pred = fitted.predict(x)
    if not (np.isfinite(pred).all() and (pred > 0).all()):
        return {"error": "the fit predicts non-finite or non-positive values beyond the cutoff"}
    rel = np.abs(pred - y) / y
    return {
        "mean_rel_error": float(rel.mean()),
        "max_rel_error": float(rel.max()),
        "rmse_log": float(np.sqrt(np.mean(np.log(pred / y) ** 2))),
        "params": fitted.params_,
        x_name: np.asarray(cut).tolist(),
        "observed": y.tolist(),
        "predicted": pred.tolist(),
    }


def score_holdout(law: Law, x, y) -> dict:
    """The fitted `law`'s prediction of the rows the user held out (no refit: they were never fitted)."""
    x = as_inputs(x, len(law.x_names))
    y = np.asarray(y, float)
    cut, x_name = x[:, law.axis], law.x_names[law.axis]
    return {
        "how": "the fit to the rows not held out predicts the held-out rows",
        "points": int(len(y)),
        **_scores(law, x, y, x_name, cut),
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
        masks = [cut <= c for c in levels[MIN_TRAIN_SCALES - 1 : -1] if (cut <= c).sum() >= need][-max_cutoffs:]
        how = f"fit on {x_name} <= cutoff, predict {x_name} > cutoff"
    splits = [_split_result(law, x, y, m, x_name, cut) for m in masks if m.any() and (~m).any()]
    scores = [s["mean_rel_error"] for s in splits if "mean_rel_error" in s]
    out = {"axis": x_name, "axis_index": int(axis), "how": how, "splits": splits}
    if scores:
        out["mean_rel_error"] = float(np.mean(scores))
        out["rmse_log"] = float(np.mean([s["rmse_log"] for s in splits if "rmse_log" in s]))
        all_rel = np.concatenate(
            [
                np.abs(np.subtract(s["predicted"], s["observed"])) / np.array(s["observed"])
                for s in splits
                if "predicted" in s
            ]
        )
        out["std_rel_error"] = float(all_rel.std())
        if out["mean_rel_error"] > POOR:
            out["warning"] = (
                f"fitted on the smaller {x_name}, it missed the larger by {100 * out['mean_rel_error']:.0f}% "
                "on average: do not extrapolate it"
            )
    else:
        out["error"] = "no split could be fitted" if splits else f"too few distinct {x_name} values for a backtest"
    return out
