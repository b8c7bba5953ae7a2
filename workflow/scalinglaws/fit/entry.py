"""One law fitted to one data set and reported: the `fit_entry` of fits.json.

The entry gathers, each from its own module: the estimate (laws/), its bootstrap CIs and
correlations (uncertainty.py), the confidence band and prediction interval on the grid of its
figure (intervals.py, grid.py), what the data do not resolve (identify.py) and its backtest
(backtest.py). Its `predict` block (bootstrap samples and noise) lets `scalinglaws predict`
compute the same intervals later at any x. Study fits (study.py), external tables (external.py)
and pruning fits all report a law this way, so the CLI, fits.json and the figures read one shape.
"""

from __future__ import annotations

import numpy as np

from .backtest import backtest, score_holdout
from .identify import resolution_notes
from .laws import FitError, Law
from .laws.base import as_inputs
from .progress import PROGRESS
from .result import Estimate, FitResult, NotFitted, plot_with_intervals
from .uncertainty import (
    CI_LEVEL,
    Bootstrap,
    Noise,
    Replicates,
    bootstrap,
    derived_interval,
    finite_or_none,
    shared_draws,
)
from .weights import weigh_with_shared_noise


def fit_entry(
    law: Law, x, y, replicates: Replicates, axis: int | None = None, holdout=None, noise: Noise | None = None
) -> dict:
    """fit_law's result as the entry of fits.json."""
    return fit_law(law, x, y, replicates, axis, holdout, noise).to_json()


def fit_law(
    law: Law, x, y, replicates: Replicates, axis: int | None = None, holdout=None, noise: Noise | None = None
) -> FitResult | NotFitted:
    """Fit `law` to (x, y) and report it. `replicates` holds resampled (x, y) of the fitted
    points (with what was resampled, and the seed); `axis` is the input that backtests cut
    (default: the law's); a boolean `holdout` leaves those rows out of the fit and of the
    backtest: they are only predicted and scored; `noise` is the points' seed noise (None: one
    run per point)."""
    x = as_inputs(x, len(law.x_names))
    y = np.asarray(y, float)
    fit_x, fit_y = (x, y) if holdout is None else (x[~holdout], y[~holdout])
    try:
        weigh_with_shared_noise(law, fit_x, fit_y)  # a plain fit when the points have no seed errors
    except FitError as exc:
        record = {"law": law.name, "formula": law.formula, "inputs": list(law.x_names), "error": str(exc)}
        return NotFitted(law.name, str(exc), record={**record, "data": {"x": x.tolist(), "y": y.tolist()}})
    noise = (noise or Noise()).with_fit(law, fit_x, fit_y)
    resample, seed = replicates.what, replicates.seed
    replicates = list(replicates.draws)
    draws = PROGRESS.replicates(replicates, len(replicates))
    boot = bootstrap(law, draws, shared_sd=shared_draws(noise, len(replicates), seed), seed=seed)
    PROGRESS.stage("backtest")
    law.ci_ = boot.intervals()
    law.notes_ = resolution_notes(law, fit_y)
    weights = None
    if law.point_sd is not None:
        weights = {
            "point_sd": law.point_errors(x, relative=False).tolist(),
            "definition": "each point's residual weighed by 1/sd: sd^2 is its seeds' relative standard error "
            "squared, moderated toward the typical one, plus the variance the points share beyond their "
            "seeds (fit/weights.py); the same in every replicate, backtest and region decision",
        }
    return FitResult(
        name=law.name,
        formula=law.formula,
        inputs=list(law.x_names),
        params=parameters(law),
        derived=derived(law, boot),
        extras=law.extras(),
        goodness=law.goodness(fit_x, fit_y),
        warnings=law.warnings_,
        notes=law.notes_,
        bootstrap=bootstrap_summary(boot, resample, seed, noise),
        weights=weights,
        correlations=boot.correlations(),
        plot=plot_with_intervals(law, x, boot.samples, noise, seed),
        backtest=backtest(law, fit_x, fit_y, axis=axis),
        holdout=score_holdout(law, x[holdout], y[holdout]) if holdout is not None and holdout.any() else None,
        data={"x": x.tolist(), "y": y.tolist(), "holdout": None if holdout is None else holdout.tolist()},
        law_summary=law.summary(),
        law=law,
        samples=boot.samples,
        noise=noise,
        seed=seed,
    )


def parameters(law: Law) -> dict:
    """Each parameter: value, 95% CI, whether it was fixed, and the bounds of its search box."""
    return {
        p: Estimate(
            law.params_[p],
            law.ci_.get(p),
            p in law.fixed,
            [finite_or_none(b) for b in law.bounds_.get(p, (-np.inf, np.inf))],
        )
        for p in law.param_names
    }


def derived(law: Law, boot: Bootstrap) -> dict:
    """Quantities computed from the parameters (e.g. where the power-law region ends), with CIs
    from the same bootstrap replicates."""
    out = {}
    for name, value in law.derived(law.params_).items():
        samples = np.array([law.derived(dict(zip(boot.names, s)))[name] for s in boot.samples])
        out[name] = Estimate(finite_or_none(value), derived_interval(samples))
    return out


def bootstrap_summary(boot: Bootstrap, resample: str, seed: int, noise: Noise) -> dict:
    shared = noise.draws_shared
    return {
        "replicates": int(len(boot.samples)),
        "failed": boot.failed,
        "resample": resample + ("; plus shard-level noise (the residual variance beyond the seeds')" if shared else ""),
        "seed": seed,
        "refit": "one warm start from the estimate",
        "level": CI_LEVEL,
        "noise": noise.to_json(),
    }
