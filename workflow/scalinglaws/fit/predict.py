"""`scalinglaws predict`: the error a fitted law expects at points never measured, with a 95%
confidence interval of the mean curve and a 95% prediction interval for one new run.

It reads fits.json (a study's results folder, a `scalinglaws fit` output folder, or the file
itself) as fit results (result.py), which recompute the intervals from each law's stored
bootstrap samples and noise (intervals.py), exactly as the figures do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .curves import CurveFits, as_curves, load_fits
from .laws import LAWS
from .mixture import Mixture
from .result import PREDICT_VERSION, FitResult, PredictError

COLUMNS = ["group", "law", "x", "size", "prediction", "ci_low", "ci_high", "pi_low", "pi_high", "beyond_data"]
__all__ = [
    "COLUMNS",
    "PredictError",
    "default_law",
    "fitted_law",
    "load_fits",
    "not_predicted",
    "parse_values",
    "predict_rows",
]


def parse_values(text: str | None, what: str) -> np.ndarray | None:
    """'1e5,2e5' -> array; every value must be a positive finite number (the laws' domain)."""
    if text is None:
        return None
    out = []
    for item in text.split(","):
        try:
            v = float(item)
        except ValueError:
            raise PredictError(f"{what} {item.strip()!r}: not a number") from None
        if not (np.isfinite(v) and v > 0):
            raise PredictError(f"{what} {item.strip()}: outside the laws' domain (a positive, finite number)")
        out.append(v)
    return np.array(out)


def default_law(fit: dict | CurveFits, inputs: int) -> str | None:
    """The law the backtest selected among those with `inputs` inputs, else the first such law."""
    return (fit if isinstance(fit, CurveFits) else CurveFits("", fit)).default_law(inputs)


def fitted_law(source: Path, curve: CurveFits, name: str | None, inputs: int) -> FitResult:
    """The curve's law `name` (default: default_law), fitted and readable by this version."""
    group = curve.key
    if curve.error:
        raise PredictError(f"{source}: group {group!r} was not fitted: {curve.error}")
    name = name or curve.default_law(inputs)
    failed = [e for e in curve.not_fitted() if not e.skipped and len(LAWS[e.name].x_names) == inputs]
    if name is None and failed:
        why = "; ".join(f"{e.name}: {e.reason}" for e in failed)
        raise PredictError(f"{source}: group {group!r} was not fitted: {why}")
    if name is None:
        raise PredictError(f"{source}: group {group!r} has no fitted law with {inputs} input(s); name one with --law")
    if name not in curve.law_names:
        raise PredictError(f"{source}: group {group!r} has no law {name!r} (fitted: {', '.join(curve.law_names)})")
    result = curve.laws.get(name)
    if result is None:
        raise PredictError(f"{source}: law {name!r} of group {group!r} has no entry: it was not fitted")
    if not result.fitted:
        raise PredictError(f"{source}: law {name!r} of group {group!r} was not fitted: {result.reason}")
    if not result.can_predict():
        raise PredictError(
            f"{source}: written by an incompatible version of scalinglaws (law {name!r} has no "
            f"'predict' block of version {PREDICT_VERSION}); fit it again with this version"
        )
    return result


def default_prediction(curve: CurveFits, inputs: int) -> Mixture | FitResult | None:
    """The curve's default prediction: its laws combined by their stacking weights (combine.py),
    or the one law they all weigh; None when the curve has no combination."""
    combo = curve.combination(inputs)
    if combo is None:
        return None
    results = {n: curve.get(n) for n, w in combo["weights"].items() if w > 0}
    seed = next(iter(results.values())).seed
    return Mixture(results, combo["weights"], seed) if len(results) > 1 else next(iter(results.values()))


def predict_rows(
    source: Path,
    fits: dict,
    at: np.ndarray,
    law: str | None = None,
    group: str | None = None,
    sizes: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per (group, x, size): the law's prediction with its CI and PI; without `law`, the
    curve's default prediction (its laws combined, else the selected law). Without `group`,
    every group that was fitted (`not_predicted` names the others and why); a group named
    with `group` that cannot be predicted is an error."""
    curves = as_curves(fits)
    rows = []
    inputs = 2 if sizes is not None else 1
    for g, result in predictable(source, curves, law, group, inputs)[0]:
        result = (default_prediction(curves[g], inputs) if law is None else None) or result
        name, model = result.name, result.law
        if len(model.x_names) == 2 and sizes is None:
            other = model.x_names[1 - model.axis]
            raise PredictError(f"law {name!r} takes {', '.join(model.x_names)}: give --size (its {other} values)")
        if len(model.x_names) == 1 and sizes is not None:
            raise PredictError(f"law {name!r} takes one input ({model.x_names[0]}): --size does not apply")
        points = at[:, None] if sizes is None else _grid(model, at, sizes)
        iv, data_max = result.predict(points), result.data_max
        for i, p in enumerate(points):
            row = {
                "group": g,
                "law": name,
                "x": p[model.axis],
                "size": None if sizes is None else p[1 - model.axis],
                "beyond_data": p[model.axis] / data_max,
            }
            rows.append({**row, **{k: None if v is None else float(v[i]) for k, v in iv.items()}})
    return pd.DataFrame(rows, columns=COLUMNS if sizes is not None else [c for c in COLUMNS if c != "size"])


def predictable(
    source: Path, curves: dict[str, CurveFits], law: str | None, group: str | None, inputs: int
) -> tuple[list[tuple[str, FitResult]], list[str]]:
    """The (group, fitted law) pairs to predict from, and why each group left out was left out
    because its fit failed (a fit output where one group failed still predicts the others)."""
    groups = [group] if group is not None else [g for g, c in curves.items() if c.has_laws]
    for g in groups:
        if g not in curves:
            raise PredictError(f"{source}: no group {g!r} (groups: {', '.join(curves)})")
    if law is not None and law not in LAWS:
        raise PredictError(f"unknown law {law!r} (choose from: {', '.join(LAWS)})")
    found, missing = [], []
    for g in groups:
        try:
            found.append((g, fitted_law(source, curves[g], law, inputs)))
        except PredictError as exc:
            if group is not None or not _failed(curves[g], law, inputs):
                raise
            missing.append(str(exc).removeprefix(f"{source}: "))
    return found, missing


def not_predicted(source: Path, fits, law: str | None = None, sizes: np.ndarray | None = None) -> list[str]:
    """Why each group that predict_rows (without `group`) leaves out was left out, one line each."""
    return predictable(source, as_curves(fits), law, None, 2 if sizes is not None else 1)[1]


def _failed(curve: CurveFits, law: str | None, inputs: int) -> bool:
    """Whether the curve cannot be predicted because its fit failed (not because it was asked
    for a law it never had)."""
    if curve.error:
        return True
    name = law or curve.default_law(inputs)
    entry = curve.laws.get(name) if name is not None else None
    if name is None:
        return any(not e.fitted for e in curve.laws.values())
    return entry is not None and not entry.fitted


def _grid(model, at: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Every (size, x) pair, as rows in the law's input order."""
    points = np.empty((len(at) * len(sizes), 2))
    points[:, model.axis] = np.tile(at, len(sizes))
    points[:, 1 - model.axis] = np.repeat(sizes, len(at))
    return points
