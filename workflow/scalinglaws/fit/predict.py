"""`scalinglaws predict`: the error a fitted law expects at points never measured, with a 95%
confidence interval of the mean curve and a 95% prediction interval for one new run.

It reads fits.json (a study's results folder, a `scalinglaws fit` output folder, or the file
itself) and recomputes the intervals from each law's stored bootstrap samples and noise
(intervals.py), exactly as the figures do.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from .entry import PREDICT_VERSION, plot_with_intervals
from .grid import EXTRAPOLATE
from .intervals import intervals
from .laws import LAWS, make_law
from .uncertainty import Noise

COLUMNS = ["group", "law", "x", "size", "prediction", "ci_low", "ci_high", "pi_low", "pi_high", "beyond_data"]


class PredictError(UserError):
    """The prediction cannot be made as asked; the message names the file, law, group or value."""


def load_fits(path: Path | str) -> tuple[Path, dict]:
    """fits.json from a file, an output folder, or a study's results folder (fits/fits.json)."""
    path = Path(path)
    candidates = [path] if path.is_file() else [path / "fits.json", path / "fits" / "fits.json"]
    for c in candidates:
        if c.is_file():
            try:
                return c, json.loads(c.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise PredictError(f"{c}: not a fits.json ({exc})") from None
    raise PredictError(f"{path}: no fits.json there (looked for {', '.join(str(c) for c in candidates)})")


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


def default_law(fit: dict, inputs: int) -> str | None:
    """The law the backtest selected among those with `inputs` inputs, else the first such law."""
    for choice in fit.get("selection", []):
        if len(LAWS[choice["law"]].x_names) == inputs:
            return choice["law"]
    fitted = [n for n in fit.get("laws", []) if n in LAWS and len(LAWS[n].x_names) == inputs and n != "size"]
    return fitted[0] if fitted else None


def law_entry(source: Path, fits: dict, group: str, name: str | None, inputs: int) -> tuple[str, dict]:
    fit = fits[group]
    name = name or default_law(fit, inputs)
    if name is None:
        raise PredictError(f"{source}: group {group!r} has no fitted law with {inputs} input(s); name one with --law")
    if name not in fit.get("laws", []):
        raise PredictError(f"{source}: group {group!r} has no law {name!r} (fitted: {', '.join(fit.get('laws', []))})")
    entry = fit[name]
    if "error" in entry:
        raise PredictError(f"{source}: law {name!r} of group {group!r} was not fitted: {entry['error']}")
    block = entry.get("predict")
    if not block or block.get("version") != PREDICT_VERSION:
        raise PredictError(
            f"{source}: written by an incompatible version of scalinglaws (law {name!r} has no "
            f"'predict' block of version {PREDICT_VERSION}); fit it again with this version"
        )
    return name, entry


def stored_law(name: str, entry: dict):
    """(the fitted law, its bootstrap samples, its noise, its seed) from a fit entry's `predict` block."""
    block = entry["predict"]
    law = make_law(name, **block["options"])
    law.params_ = block["params"]
    samples = np.asarray(block["samples"], float).reshape(-1, len(law.param_names))
    return law, samples, Noise.from_json(block["noise"]), block["seed"]


def redraw(entry: dict, extrapolate: float = EXTRAPOLATE, start: float | None = None) -> dict:
    """The entry's plot description recomputed out to `extrapolate` x its largest x (the stored
    one when the entry has no `predict` block), from `start` on its axis when given (the power
    law's first fitted shard: the curve is not drawn through the small-data points it left out)."""
    if entry.get("predict", {}).get("version") != PREDICT_VERSION:
        return entry["plot"]
    law, samples, noise, seed = stored_law(entry["law"], entry)
    x = np.asarray(entry["data"]["x"], float).reshape(-1, len(law.x_names))
    if start is not None and (x[:, law.axis] >= start).any():
        x = x[x[:, law.axis] >= start]
    return plot_with_intervals(law, x, samples, noise, seed, extrapolate)


def predict_rows(
    source: Path,
    fits: dict,
    at: np.ndarray,
    law: str | None = None,
    group: str | None = None,
    sizes: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per (group, x, size): the law's prediction with its CI and PI."""
    groups = [group] if group is not None else [g for g, f in fits.items() if isinstance(f, dict) and "laws" in f]
    for g in groups:
        if g not in fits:
            raise PredictError(f"{source}: no group {g!r} (groups: {', '.join(fits)})")
    if law is not None and law not in LAWS:
        raise PredictError(f"unknown law {law!r} (choose from: {', '.join(LAWS)})")
    inputs = 2 if sizes is not None else 1
    rows = []
    for g in groups:
        name, entry = law_entry(source, fits, g, law, inputs)
        model, samples, noise, seed = stored_law(name, entry)
        if len(model.x_names) == 2 and sizes is None:
            other = model.x_names[1 - model.axis]
            raise PredictError(f"law {name!r} takes {', '.join(model.x_names)}: give --size (its {other} values)")
        if len(model.x_names) == 1 and sizes is not None:
            raise PredictError(f"law {name!r} takes one input ({model.x_names[0]}): --size does not apply")
        points = at[:, None] if sizes is None else _grid(model, at, sizes)
        iv = intervals(model, samples, noise, points, seed)
        data_max = np.asarray(entry["data"]["x"], float).reshape(-1, len(model.x_names))[:, model.axis].max()
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


def _grid(model, at: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Every (size, x) pair, as rows in the law's input order."""
    points = np.empty((len(at) * len(sizes), 2))
    points[:, model.axis] = np.tile(at, len(sizes))
    points[:, 1 - model.axis] = np.repeat(sizes, len(at))
    return points
