"""Tables and files of the fit stage's report: the fitted-law table (laws.csv), and the outputs
of an external-table fit (fits.json, laws.csv, one figure per law)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import store
from ..fit.curves import CurveFits, as_curves
from ..fit.grid import EXTRAPOLATE
from ..fit.result import FitResult, NotFitted
from .figures import save
from .law_figures import law_figure

MAX_DRAWN, MAX_NOTES = 8, 3  # groups drawn in one law's figure, and notes of groups not fitted


def law_table(fits) -> pd.DataFrame:
    """One row per (curve, law, parameter): the fitted-law table of the report."""
    rows = []
    for key, fit in as_curves(fits).items():
        selected = fit.picked()  # the law the backtest selected, or the only one it could have
        for name in fit.law_names:
            entry = fit.laws.get(name)
            # how many runs the curve had and how many diverged ones were left out (study fits)
            base = {
                "curve": key,
                "law": name,
                "runs": fit.info.get("runs"),
                "excluded_diverged": fit.info.get("excluded_diverged"),
            }
            if entry is None or not entry.fitted:
                why = entry.reason if entry is not None else fit.error or "not fitted"
                rows.append({**base, "warnings": f"not fitted: {why}"})
                continue
            shared = {
                "r2_log": entry.goodness["r2_log"],
                "points": entry.goodness["points"],
                "backtest_mean_rel_error": entry.backtest.get("mean_rel_error"),
                "holdout_mean_rel_error": (entry.holdout or {}).get("mean_rel_error"),
                "selected": name in selected,
                "warnings": "; ".join(entry.all_warnings()),
                "notes": "; ".join(entry.notes),
            }
            for p, v in {**entry.params, **entry.derived}.items():
                ci = v.ci95 or [None, None]
                rows.append({**base, "param": p, "value": v.value, "ci95_lo": ci[0], "ci95_hi": ci[1], **shared})
    columns = [
        "curve",
        "law",
        "param",
        "value",
        "ci95_lo",
        "ci95_hi",
        "r2_log",
        "points",
        "backtest_mean_rel_error",
        "holdout_mean_rel_error",
        "selected",
        "runs",
        "excluded_diverged",
        "warnings",
        "notes",
    ]
    return pd.DataFrame(rows, columns=columns)


def write_outputs(fits: dict, out_dir, title: str, figures: bool = True, every_figure: bool = False) -> list[Path]:
    """fits.json, laws.csv and figures/<law>.{png,pdf} (every group in one figure per law; a
    group that was not fitted appears there as a note saying why). A law no group could fit gets
    no figure (an empty one said nothing), and one left from an earlier fit is removed, unless
    `every_figure` (a workflow that declares a figure per law: the note is its content)."""
    out_dir = Path(out_dir)
    store.atomic_write_json(out_dir / "fits.json", fits)
    store.atomic_write_text(out_dir / "laws.csv", law_table(fits).to_csv(index=False))
    written = [out_dir / "fits.json", out_dir / "laws.csv"]
    if figures:
        written += write_figures(fits, out_dir / "figures", title, every_figure)
    return written


def write_figures(
    fits, out_dir, title: str, every_figure: bool = False, extrapolate: float = EXTRAPOLATE
) -> list[Path]:
    """<law>.{png,pdf} in `out_dir` for every law of a table's fits (see write_outputs); also
    what `scalinglaws plot --fits` redraws from a fit's output alone."""
    out_dir, written = Path(out_dir), []
    curves = as_curves(fits)
    first = next(iter(curves.values()))
    for name in first.law_names:
        if not every_figure and not any(fit.get(name) for fit in curves.values()):
            for ext in ("png", "pdf"):
                (out_dir / f"{name}.{ext}").unlink(missing_ok=True)
            continue
        entries = _figure_entries(curves, name)
        fig = law_figure(
            entries, f"{title}: {name}", x_labels=first.info["x"], y_label=first.info["y"], extrapolate=extrapolate
        )
        written += save(fig, out_dir / name)
    return written


def _figure_entries(curves: dict[str, CurveFits], name: str) -> list[tuple[str, FitResult | NotFitted]]:
    """The first MAX_DRAWN fitted groups, and notes for the rest: a figure of 100 curves is
    unreadable and took most of a run's time to draw (laws.csv and fits.json have them all)."""
    drawn, notes = [], []
    for key, fit in curves.items():
        entry = fit.laws.get(name) or NotFitted(name, fit.error or "not fitted")
        (drawn if entry.fitted else notes).append((key, entry))
    if len(notes) > MAX_NOTES:
        notes = notes[:MAX_NOTES] + [("...", NotFitted(name, f"{len(notes) - MAX_NOTES} more group(s) not fitted"))]
    if len(drawn) > MAX_DRAWN:
        notes.append(("...", NotFitted(name, f"{len(drawn) - MAX_DRAWN} more fitted group(s) not drawn: see laws.csv")))
    return drawn[:MAX_DRAWN] + notes
