"""Fit laws and report them: estimates, bootstrap CIs, goodness, warnings, bands and backtests.

`fit_entry` does this for one law and one data set (used by the study and by external tables).
`fit_study` applies it to every learning curve of a study. There a bootstrap replicate draws the
seeds of every shard with replacement and redoes the per-shard selection of the best (size,
learning rate) on validation before refitting, so the CIs carry both the seed noise and the
noise of model selection.
"""

from __future__ import annotations

import warnings
from typing import Iterable

import numpy as np
import pandas as pd

from .aggregate import GROUP, SIZE_TOLERANCE, config_cube, select_best, usable
from .backtest import backtest, select_law
from .bootstrap import CI_LEVEL, bootstrap
from .laws import FitError, Law, make_law
from .laws.base import as_inputs

DEFAULT_LAWS = ("power", "size")
# What each law is fitted to in a study: the learning curve, the best size per shard, or the
# error of every (model size, shard) at its best learning rate.
CURVE_LAWS, SIZE_LAWS, JOINT_LAWS = ("power", "bnsl", "bnsl2"), ("size",), ("joint", "joint-additive", "chinchilla")
MAX_LINES = 8  # a 2-input law is drawn as one line per value of its other input, up to this many


def _bound(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None  # JSON has no infinity


def _derived_interval(values: np.ndarray) -> list[float | None] | None:
    """Like a percentile interval, but an infinite end (e.g. no irreducible region) stays open."""
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return None
    lo, hi = np.percentile(np.clip(values, -1e300, 1e300), [(1 - CI_LEVEL) / 2 * 100, (1 + CI_LEVEL) / 2 * 100])
    return [_bound(lo) if abs(lo) < 1e300 else None, _bound(hi) if abs(hi) < 1e300 else None]


def _plot_points(law: Law, x: np.ndarray) -> tuple[np.ndarray, dict]:
    """Where to predict for the figure: a grid along the law's axis (one line per value of the
    other input when it has few values), else the data points themselves (a parity plot)."""
    ax = law.axis
    grid = np.geomspace(x[:, ax].min(), x[:, ax].max(), 50)
    if x.shape[1] == 1:
        return grid[:, None], {"kind": "curve", "x": grid.tolist()}
    if x.shape[1] > 2:
        return x, {"kind": "parity"}
    other = 1 - ax
    values = np.unique(x[:, other])
    if len(values) > MAX_LINES:
        return x, {"kind": "parity"}
    blocks = []
    for v in values:
        block = np.empty((len(grid), 2))
        block[:, ax], block[:, other] = grid, v
        blocks.append(block)
    return np.vstack(blocks), {"kind": "lines", "x": grid.tolist(), "line_input": law.x_names[other],
                               "line_values": values.tolist()}  # fmt: skip


def fit_entry(law: Law, x, y, replicates: Iterable, resample: str, seed: int, axis: int | None = None,
              holdout=None) -> dict:  # fmt: skip
    """Fit `law` to (x, y) and report it. `replicates` yields resampled (x, y) of the fitted
    points; `axis` is the input that backtests cut (default: the law's); a boolean `holdout`
    leaves those rows out of the fit and makes them the backtest instead."""
    x = as_inputs(x, len(law.x_names))
    y = np.asarray(y, float)
    fit_x, fit_y = (x, y) if holdout is None else (x[~holdout], y[~holdout])
    head = {"law": law.name, "formula": law.formula, "inputs": list(law.x_names)}
    try:
        law.fit(fit_x, fit_y)
    except FitError as exc:
        return {**head, "error": str(exc), "data": {"x": x.tolist(), "y": y.tolist()}}
    at, plot = _plot_points(law, x)
    boot = bootstrap(law, replicates, at=at)
    law.ci_ = boot.intervals()
    lo, hi = boot.band()

    def per_line(a):  # a "lines" plot keeps one row per line
        if a is None:
            return None
        return np.reshape(a, (len(plot["line_values"]), -1) if plot["kind"] == "lines" else -1).tolist()

    plot.update(fit=per_line(law.predict(at)), lo=per_line(lo), hi=per_line(hi))
    derived = {}
    for name, value in law.derived(law.params_).items():
        samples = np.array([law.derived(dict(zip(boot.names, s)))[name] for s in boot.samples])
        derived[name] = {"value": _bound(value), "ci95": _derived_interval(samples)}
    entry = {
        **head,
        "params": {
            p: {
                "value": law.params_[p],
                "ci95": law.ci_.get(p),
                "fixed": p in law.fixed,
                "bounds": [_bound(b) for b in law.bounds_.get(p, (-np.inf, np.inf))],
            }
            for p in law.param_names
        },  # fmt: skip
        "derived": derived,
        **law.extras(),
        "goodness": law.goodness(fit_x, fit_y),
        "warnings": law.warnings_,
        "bootstrap": {
            "replicates": int(len(boot.samples)),
            "failed": boot.failed,
            "resample": resample,
            "seed": seed,
            "refit": "one warm start from the estimate",
            "level": CI_LEVEL,
        },  # fmt: skip
        "correlations": boot.correlations(),
        "plot": plot,
        "backtest": backtest(law, x, y, axis=axis, holdout=holdout),
        "data": {"x": x.tolist(), "y": y.tolist(), "holdout": None if holdout is None else holdout.tolist()},
        "summary": law.summary(),
    }
    if plot["kind"] == "curve":  # the 1-input band, under the name the figures have always read
        entry["band"] = {"x": plot["x"], "fit": plot["fit"], "lo": plot["lo"], "hi": plot["hi"]}
    return entry


# -- studies ------------------------------------------------------------------------------------
def resample_seeds(val: np.ndarray, target: np.ndarray, replicates: int, seed: int):
    """Yield (val, target) cubes [shard, config, seed] with every shard's seeds redrawn (the
    same draw for every config of a shard, so that a replicate is a set of whole runs)."""
    rng = np.random.default_rng(seed)
    n_seeds = val.shape[2]
    for _ in range(replicates):
        pick = rng.integers(0, n_seeds, size=(val.shape[0], n_seeds))
        index = pick[:, None, :].repeat(val.shape[1], 1)
        yield np.take_along_axis(val, index, 2), np.take_along_axis(target, index, 2)


def per_size_best(val: np.ndarray, target: np.ndarray, params: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """[shard, size]: the mean target metric at each size's best learning rate (on validation)."""
    out = np.full((val.shape[0], len(sizes)), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: missing runs
        mean_val, mean_tgt = np.nanmean(val, axis=2), np.nanmean(target, axis=2)
    mean_val = np.where(np.isnan(mean_val), np.inf, mean_val)
    for j, m in enumerate(sizes):
        cols = np.flatnonzero(params == m)
        best = cols[mean_val[:, cols].argmin(axis=1)]
        out[:, j] = mean_tgt[np.arange(len(best)), best]
    return out


def fit_curve(runs: pd.DataFrame, target: str = "test", replicates: int = 200, seed: int = 0,
              tolerance: float = SIZE_TOLERANCE, laws: Iterable[str] = DEFAULT_LAWS) -> dict:  # fmt: skip
    """Fit the configured laws to one (dataset, family): `power`/`bnsl` to the learning curve,
    `size` to the smallest sufficient sizes, `joint`/`chinchilla` to error vs (size, shard)."""
    configs, val, test, shards = config_cube(runs)
    tgt = test if target == "test" else val
    n = np.array(shards, float)
    params = configs["params"].to_numpy(float)
    sizes = np.unique(params)
    x = {"curve": n, "size": n, "joint": np.column_stack([np.tile(sizes, len(n)), np.repeat(n, len(sizes))])}

    def law_data(v, t) -> dict:
        sel = select_best(v, t, params, tolerance)
        out = {"curve": sel.target_mean, "size": params[sel.smallest]}
        if any(name in JOINT_LAWS for name in laws):
            out["joint"] = per_size_best(v, t, params, sizes).ravel()
        return out

    observed = law_data(val, tgt)
    replicate_data = [law_data(v, t) for v, t in resample_seeds(val, tgt, replicates, seed)]
    out = {"target": f"{target}_metric", "points": len(shards), "shards": [int(s) for s in shards],
           "size_tolerance": tolerance, "laws": list(laws)}  # fmt: skip
    for name in laws:
        source = "curve" if name in CURVE_LAWS else "size" if name in SIZE_LAWS else "joint"
        if source == "joint" and len(sizes) < 2:
            out[name] = {"law": name, "error": f"{name} needs several model sizes; this curve has one"}
            continue
        reps = ((x[source], r[source]) for r in replicate_data)
        out[name] = fit_entry(make_law(name), x[source], observed[source], reps, seed=seed,
                              resample="seeds within each shard, model selection redone",
                              axis=1 if source == "joint" else 0)  # backtests cut along n  # fmt: skip
    choices = [select_law({k: out[k] for k in laws if k in group}, among)
               for group, among in ((CURVE_LAWS, "learning curve"), (JOINT_LAWS, "error vs (size, n)"))]  # fmt: skip
    out["selection"] = [c for c in choices if c]
    return out


def fit_study(runs: pd.DataFrame, target: str, replicates: int, seed: int, tolerance: float = SIZE_TOLERANCE,
              laws: Iterable[str] = DEFAULT_LAWS) -> dict:  # fmt: skip
    """Fits for every (dataset, family) curve, keyed "dataset/family"."""
    result = {}
    ok = usable(runs)
    for (dataset, family), grp in runs.groupby(GROUP, sort=True):
        good = ok[(ok["dataset"] == dataset) & (ok["family"] == family)]
        entry = {
            "dataset": dataset,
            "family": family,
            "runs": int(len(grp)),
            "excluded_diverged": int(grp["diverged"].astype(bool).sum()),
            "excluded_total": int(len(grp) - len(good)),
        }
        if len(good):
            entry.update(fit_curve(good, target, replicates, seed, tolerance, tuple(laws)))
        else:
            entry["error"] = "no usable runs"
        result[f"{dataset}/{family}"] = entry
    return result


def law_table(fits: dict) -> pd.DataFrame:
    """One row per (curve, law, parameter): the fitted-law table of the report."""
    rows = []
    for key, fit in fits.items():
        selected = {s["law"] for s in fit.get("selection", [])}
        for name in fit.get("laws", []):
            entry = fit.get(name, {})
            # how many runs the curve had and how many diverged ones were left out (study fits)
            base = {"curve": key, "law": name, "runs": fit.get("runs"), "excluded_diverged": fit.get("excluded_diverged")}
            if "error" in entry:
                rows.append({**base, "warnings": f"not fitted: {entry['error']}"})
                continue
            shared = {
                "r2_log": entry["goodness"]["r2_log"],
                "points": entry["goodness"]["points"],
                "backtest_mean_rel_error": entry["backtest"].get("mean_rel_error"),
                "selected": name in selected,
                "warnings": "; ".join(entry["warnings"]),
            }
            quantities = {**entry["params"], **entry.get("derived", {})}
            for p, v in quantities.items():
                ci = v.get("ci95") or [None, None]
                rows.append({**base, "param": p, "value": v["value"], "ci95_lo": ci[0], "ci95_hi": ci[1], **shared})
    columns = ["curve", "law", "param", "value", "ci95_lo", "ci95_hi", "r2_log", "points",
               "backtest_mean_rel_error", "selected", "runs", "excluded_diverged", "warnings"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
