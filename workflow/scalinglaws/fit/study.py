"""Fit a study's laws to every learning curve (`fit_study`), one law at a time by fit_entry.

A bootstrap replicate draws the seeds of every shard with replacement and redoes the per-shard
selection of the best (size, learning rate) on validation before refitting, so the CIs carry
both the seed noise and the noise of model selection; fit_entry adds the shard-level noise
(uncertainty.py). Each point of the learning curve is weighed by its seeds' standard error
(weights.py), in the estimate, every replicate and the region decision alike. The dataset's best-guess error (best_guess.py) anchors the small-data region
of a law with a small-data region (power) and is the eps0 of a law that takes one (joint, and m4
on the curve), unless `fit_eps0` asks for it to be fitted. Which data a law is fitted to, and
which laws the backtest chooses among, is its role (laws/base.py), read through the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..aggregate.curves import learning_curve
from ..aggregate.runs import GROUP, usable
from ..aggregate.selection import SIZE_TOLERANCE, config_cube, per_size_best, select_best
from ..errors import UserError
from .combine import combine
from .entry import fit_entry
from .laws import LAWS, STUDY_ROLES, Prior, Role, default_laws, make_law, study_laws
from .result import NotFitted
from .selection import select_law
from .uncertainty import Noise, Replicates, resample_seeds, runs_noise
from .weights import error_draws, relative_errors

DEFAULT_LAWS = default_laws()
# the laws fitted to the same data that the backtest chooses among, and what that data is
CHOICES = ((Role.CURVE, "learning curve"), (Role.JOINT, "error vs (size, n)"))


@dataclass
class StudyFit:
    """How a study's curves are fitted (the config's `fit` section)."""

    target: str = "test"
    replicates: int = 200
    seed: int = 0
    tolerance: float = SIZE_TOLERANCE
    laws: tuple[str, ...] = DEFAULT_LAWS
    best_guess: dict[str, float] = field(default_factory=dict)  # per dataset
    fit_eps0: bool = False  # fit the eps0 of the laws that take one instead of fixing it to the best guess


def cell_noise(cube: np.ndarray) -> Noise:
    """The seed noise of [cell, seed] metrics (NaN: missing runs)."""
    cells, seeds = np.nonzero(np.isfinite(cube) & (cube > 0))
    return runs_noise(cells, cube[cells, seeds]) if len(cells) else Noise()


def law_options(name: str, spec: StudyFit, best_guess: float | None, noise: Noise) -> dict:
    """The law's options from the dataset's best-guess error (its priors, laws/base.py): the
    anchor of a small-data region, with the curve's seed noise, and eps0 unless `fit_eps0`."""
    if best_guess is None:
        return {}
    known = {Prior.BEST_GUESS: best_guess, Prior.EPS0: None if spec.fit_eps0 else best_guess}
    return LAWS[name].seed_noise_options(LAWS[name].prior_options(known), noise.point_var)


def fit_curve(runs: pd.DataFrame, spec: StudyFit, best_guess: float | None = None) -> dict:
    """Fit the configured laws to one (dataset, family), each to the data of its role: the
    learning curve, the smallest sufficient sizes, or the error vs (size, shard)."""
    configs, val, test, shards = config_cube(runs)
    tgt = test if spec.target == "test" else val
    n = np.array(shards, float)
    params = configs["params"].to_numpy(float)
    sizes = np.unique(params)
    roles = {name: study_role(name) for name in spec.laws}
    x = {Role.CURVE: n, Role.SIZE: n, Role.JOINT: np.column_stack([np.tile(sizes, len(n)), np.repeat(n, len(sizes))])}

    def law_data(v, t) -> dict:
        sel = select_best(v, t, params, spec.tolerance)
        out = {Role.CURVE: sel.target_mean, Role.SIZE: params[sel.smallest]}
        if Role.JOINT in roles.values():
            out[Role.JOINT] = per_size_best(v, t, params, sizes).ravel()
        return out

    observed = law_data(val, tgt)
    chosen = tgt[np.arange(len(n)), select_best(val, tgt, params, spec.tolerance).best]
    noise = {Role.CURVE: cell_noise(chosen), Role.SIZE: None, Role.JOINT: cell_noise(tgt.reshape(-1, tgt.shape[2]))}
    replicate_data = [law_data(v, t) for v, t in resample_seeds(val, tgt, spec.replicates, spec.seed)]
    # the learning curve's seed errors, and each replicate's draw of them (the other data have none)
    observed_sd = {Role.CURVE: relative_errors(chosen)}
    replicate_sd = [{Role.CURVE: sd} for sd in error_draws(chosen, spec.replicates, spec.seed)]
    out = {
        "target": f"{spec.target}_metric",
        "points": len(shards),
        "shards": [int(s) for s in shards],
        "size_tolerance": spec.tolerance,
        "laws": list(spec.laws),
        "best_guess": best_guess,
    }
    for name, role in roles.items():
        if role is Role.JOINT and len(sizes) < 2:
            out[name] = {"law": name, "error": f"{name} needs several model sizes; this curve has one"}
            continue
        # the learning curve's points are weighed by their seed errors, each replicate's by its own
        reps = ((x[role], r[role], sd.get(role)) for r, sd in zip(replicate_data, replicate_sd))
        law = make_law(name, **law_options(name, spec, best_guess, noise[Role.CURVE]))
        too_few = too_few_points(law, observed[role])
        if too_few:
            out[name] = NotFitted(name, too_few).to_json()
            continue
        law.weigh(x[role], observed_sd.get(role))
        reps = Replicates(reps, "seeds within each shard (small-sample corrected), model selection redone", spec.seed)
        # backtests cut along n (the error surface's second input)
        axis = 1 if role is Role.JOINT else 0
        out[name] = fit_entry(law, x[role], observed[role], reps, axis=axis, noise=noise[role])
    groups = [({k: out[k] for k, role in roles.items() if role is group}, among) for group, among in CHOICES]
    out["selection"] = [c for c in (select_law(*g) for g in groups) if c]
    out["combination"] = [c for c in (combine(*g) for g in groups) if c]
    return out


def too_few_points(law, y) -> str | None:
    """Why the law is not fitted to these points, or None: a law needs more points than free
    parameters, or it passes through every point (its fit then says nothing, and its bootstrap
    and backtest cannot judge it)."""
    y = np.asarray(y, float)
    points, k = int((np.isfinite(y) & (y > 0)).sum()), len(law.free)
    if points > k:
        return None
    return f"{points} point(s) for {k} parameters: a law needs more points than parameters (add shards or sizes)"


def study_role(name: str) -> Role:
    """What the law is fitted to in a study; a law of another role (pruning) is refused."""
    role = make_law(name).role
    if role not in STUDY_ROLES:
        raise UserError(
            f"fit.laws: {name} is not fitted to a study's curves ({role.value}); choose from: {', '.join(study_laws())}"
        )
    return role


def fit_study(runs: pd.DataFrame, spec: StudyFit) -> dict:
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
            entry.update(fit_curve(good, spec, spec.best_guess.get(dataset)))
            warn_limited(entry, learning_curve(good, spec.tolerance))
        else:
            entry["error"] = "no usable runs"
        result[f"{dataset}/{family}"] = entry
    return result


def warn_limited(fit: dict, curve: pd.DataFrame) -> None:
    """Record the curve's points that the training protocol limited (`limited_by` of
    learning_curve.csv), and warn in every curve and size law that fitted one of them."""
    limited = {int(r.n): r.limited_by for r in curve.itertuples() if r.limited_by != "none"}
    fit["limited_points"] = {str(n): reason for n, reason in limited.items()}
    for name in fit.get("laws", []):
        entry = fit.get(name, {})
        if LAWS[name].role not in (Role.CURVE, Role.SIZE) or "warnings" not in entry:
            continue
        left_out = set(entry.get("regions", {}).get("small_data_n") or [])
        fitted = {n: reason for n, reason in limited.items() if n not in left_out}
        if fitted:
            points = ", ".join(f"n={n} ({reason})" for n, reason in fitted.items())
            entry["warnings"].append(
                f"fitted points limited by the training protocol, not by the data: {points}; "
                "they may be above what the model family can reach (limited_by in learning_curve.csv)"
            )
