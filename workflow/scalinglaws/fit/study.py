"""Fit a study's laws to every learning curve (`fit_study`), one law at a time by fit_entry.

A bootstrap replicate draws the seeds of every shard with replacement and redoes the per-shard
selection of the best (size, learning rate) on validation before refitting, so the CIs carry
both the seed noise and the noise of model selection; fit_entry adds the shard-level noise
(uncertainty.py). Each point of the learning curve is weighed by its seeds' standard error
(weights.py), in the estimate, every replicate and the region decision alike. The dataset's best-guess error (best_guess.py) anchors the small-data region
of `power` and is the joint law's eps0, unless `fit_eps0` asks for it to be fitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..aggregate.curves import learning_curve
from ..aggregate.runs import GROUP, usable
from ..aggregate.selection import SIZE_TOLERANCE, config_cube, per_size_best, select_best
from .entry import fit_entry
from .laws import make_law
from .selection import select_law
from .uncertainty import Noise, Replicates, resample_seeds, runs_noise
from .weights import error_draws, relative_errors

DEFAULT_LAWS = ("power", "size")
# What each law is fitted to in a study: the learning curve, the best size per shard, or the
# error of every (model size, shard) at its best learning rate.
CURVE_LAWS, SIZE_LAWS, JOINT_LAWS = ("power", "bnsl", "bnsl2"), ("size",), ("joint", "joint-additive", "chinchilla")


@dataclass
class StudyFit:
    """How a study's curves are fitted (the config's `fit` section)."""

    target: str = "test"
    replicates: int = 200
    seed: int = 0
    tolerance: float = SIZE_TOLERANCE
    laws: tuple[str, ...] = DEFAULT_LAWS
    best_guess: dict[str, float] = field(default_factory=dict)  # per dataset
    fit_eps0: bool = False  # fit the joint law's eps0 instead of fixing it to the best guess


def cell_noise(cube: np.ndarray) -> Noise:
    """The seed noise of [cell, seed] metrics (NaN: missing runs)."""
    cells, seeds = np.nonzero(np.isfinite(cube) & (cube > 0))
    return runs_noise(cells, cube[cells, seeds]) if len(cells) else Noise()


def law_options(name: str, spec: StudyFit, best_guess: float | None, noise: Noise) -> dict:
    if best_guess is None:
        return {}
    if name == "power":
        return {"best_guess": best_guess, "point_var": noise.point_var}
    if name == "joint" and not spec.fit_eps0:
        return {"eps0": best_guess}
    return {}


def fit_curve(runs: pd.DataFrame, spec: StudyFit, best_guess: float | None = None) -> dict:
    """Fit the configured laws to one (dataset, family): `power`/`bnsl` to the learning curve,
    `size` to the smallest sufficient sizes, `joint`/`chinchilla` to error vs (size, shard)."""
    configs, val, test, shards = config_cube(runs)
    tgt = test if spec.target == "test" else val
    n = np.array(shards, float)
    params = configs["params"].to_numpy(float)
    sizes = np.unique(params)
    x = {"curve": n, "size": n, "joint": np.column_stack([np.tile(sizes, len(n)), np.repeat(n, len(sizes))])}

    def law_data(v, t) -> dict:
        sel = select_best(v, t, params, spec.tolerance)
        out = {"curve": sel.target_mean, "size": params[sel.smallest]}
        if any(name in JOINT_LAWS for name in spec.laws):
            out["joint"] = per_size_best(v, t, params, sizes).ravel()
        return out

    observed = law_data(val, tgt)
    chosen = tgt[np.arange(len(n)), select_best(val, tgt, params, spec.tolerance).best]
    noise = {"curve": cell_noise(chosen), "size": None, "joint": cell_noise(tgt.reshape(-1, tgt.shape[2]))}
    replicate_data = [law_data(v, t) for v, t in resample_seeds(val, tgt, spec.replicates, spec.seed)]
    observed["curve_sd"] = relative_errors(chosen)  # the curve's seed errors, and each replicate's draw of them
    for data, sd in zip(replicate_data, error_draws(chosen, spec.replicates, spec.seed)):
        data["curve_sd"] = sd
    out = {
        "target": f"{spec.target}_metric",
        "points": len(shards),
        "shards": [int(s) for s in shards],
        "size_tolerance": spec.tolerance,
        "laws": list(spec.laws),
        "best_guess": best_guess,
    }
    for name in spec.laws:
        source = "curve" if name in CURVE_LAWS else "size" if name in SIZE_LAWS else "joint"
        if source == "joint" and len(sizes) < 2:
            out[name] = {"law": name, "error": f"{name} needs several model sizes; this curve has one"}
            continue
        # the learning curve's points are weighed by their seed errors, each replicate's by its own
        reps = ((x[source], r[source], r.get(f"{source}_sd")) for r in replicate_data)
        law = make_law(name, **law_options(name, spec, best_guess, noise["curve"]))
        law.weigh(x[source], observed.get(f"{source}_sd"))
        # backtests cut along n (the joint laws' second input)
        reps = Replicates(reps, "seeds within each shard (small-sample corrected), model selection redone", spec.seed)
        out[name] = fit_entry(
            law, x[source], observed[source], reps, axis=1 if source == "joint" else 0, noise=noise[source]
        )
    choices = [
        select_law({k: out[k] for k in spec.laws if k in group}, among)
        for group, among in ((CURVE_LAWS, "learning curve"), (JOINT_LAWS, "error vs (size, n)"))
    ]
    out["selection"] = [c for c in choices if c]
    return out


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
        if name not in CURVE_LAWS + SIZE_LAWS or "warnings" not in entry:
            continue
        left_out = set(entry.get("regions", {}).get("small_data_n") or [])
        fitted = {n: reason for n, reason in limited.items() if n not in left_out}
        if fitted:
            points = ", ".join(f"n={n} ({reason})" for n, reason in fitted.items())
            entry["warnings"].append(
                f"fitted points limited by the training protocol, not by the data: {points}; "
                "they may be above what the model family can reach (limited_by in learning_curve.csv)"
            )
