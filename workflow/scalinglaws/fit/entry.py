"""One law fitted to one data set and reported: the `fit_entry` of fits.json.

The entry gathers, each from its own module: the estimate (laws/), its bootstrap CIs, bands and
correlations (uncertainty.py), the prediction grid of its figure (grid.py) and its backtest
(backtest.py). Study fits (study.py), external tables (external.py) and pruning fits all
report a law this way, so the CLI, fits.json and the figures read one shape.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .backtest import backtest, score_holdout
from .grid import per_line, plot_grid
from .laws import FitError, Law
from .laws.base import as_inputs
from .uncertainty import CI_LEVEL, Bootstrap, bootstrap, derived_interval, finite_or_none


def fit_entry(law: Law, x, y, replicates: Iterable, resample: str, seed: int, axis: int | None = None,
              holdout=None) -> dict:  # fmt: skip
    """Fit `law` to (x, y) and report it. `replicates` yields resampled (x, y) of the fitted
    points; `axis` is the input that backtests cut (default: the law's); a boolean `holdout`
    leaves those rows out of the fit and of the backtest: they are only predicted and scored."""
    x = as_inputs(x, len(law.x_names))
    y = np.asarray(y, float)
    fit_x, fit_y = (x, y) if holdout is None else (x[~holdout], y[~holdout])
    head = {"law": law.name, "formula": law.formula, "inputs": list(law.x_names)}
    try:
        law.fit(fit_x, fit_y)
    except FitError as exc:
        return {**head, "error": str(exc), "data": {"x": x.tolist(), "y": y.tolist()}}
    at, plot = plot_grid(law, x)
    boot = bootstrap(law, replicates, at=at)
    law.ci_ = boot.intervals()
    entry = {
        **head,
        "params": parameters(law),
        "derived": derived(law, boot),
        **law.extras(),
        "goodness": law.goodness(fit_x, fit_y),
        "warnings": law.warnings_,
        "bootstrap": bootstrap_summary(boot, resample, seed),
        "correlations": boot.correlations(),
        "plot": plot_with_band(law, at, plot, boot),
        "backtest": backtest(law, fit_x, fit_y, axis=axis),
        **({} if holdout is None else {"holdout": score_holdout(law, x[holdout], y[holdout])}),
        "data": {"x": x.tolist(), "y": y.tolist(), "holdout": None if holdout is None else holdout.tolist()},
        "summary": law.summary(),
    }
    plot = entry["plot"]
    if plot["kind"] == "curve":  # the 1-input band, under the name the figures have always read
        entry["band"] = {"x": plot["x"], "fit": plot["fit"], "lo": plot["lo"], "hi": plot["hi"]}
    return entry


def parameters(law: Law) -> dict:
    """Each parameter: value, 95% CI, whether it was fixed, and the bounds of its search box."""
    return {
        p: {
            "value": law.params_[p],
            "ci95": law.ci_.get(p),
            "fixed": p in law.fixed,
            "bounds": [finite_or_none(b) for b in law.bounds_.get(p, (-np.inf, np.inf))],
        }
        for p in law.param_names
    }


def derived(law: Law, boot: Bootstrap) -> dict:
    """Quantities computed from the parameters (e.g. where the power-law region ends), with CIs
    from the same bootstrap replicates."""
    out = {}
    for name, value in law.derived(law.params_).items():
        samples = np.array([law.derived(dict(zip(boot.names, s)))[name] for s in boot.samples])
        out[name] = {"value": finite_or_none(value), "ci95": derived_interval(samples)}
    return out


def bootstrap_summary(boot: Bootstrap, resample: str, seed: int) -> dict:
    return {
        "replicates": int(len(boot.samples)),
        "failed": boot.failed,
        "resample": resample,
        "seed": seed,
        "refit": "one warm start from the estimate",
        "level": CI_LEVEL,
    }


def plot_with_band(law: Law, at: np.ndarray, plot: dict, boot: Bootstrap) -> dict:
    """The figure's description with the fit and its 95% bootstrap band on the grid."""
    lo, hi = boot.band()
    return {**plot, "fit": per_line(plot, law.predict(at)), "lo": per_line(plot, lo), "hi": per_line(plot, hi)}
