"""Tables and files of the fit stage's report: the fitted-law table (laws.csv), and the outputs
of an external-table fit (fits.json, laws.csv, one figure per law)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import store
from .figures import law_figure, save

MAX_DRAWN, MAX_NOTES = 8, 3  # groups drawn in one law's figure, and notes of groups not fitted


def law_table(fits: dict) -> pd.DataFrame:
    """One row per (curve, law, parameter): the fitted-law table of the report."""
    rows = []
    for key, fit in fits.items():
        selected = {s["law"] for s in fit.get("selection", [])}
        for name in fit.get("laws", []):
            entry = fit.get(name, {})
            # how many runs the curve had and how many diverged ones were left out (study fits)
            base = {
                "curve": key,
                "law": name,
                "runs": fit.get("runs"),
                "excluded_diverged": fit.get("excluded_diverged"),
            }
            if "params" not in entry:
                why = entry.get("error") or entry.get("skipped") or fit.get("error", "not fitted")
                rows.append({**base, "warnings": f"not fitted: {why}"})
                continue
            shared = {
                "r2_log": entry["goodness"]["r2_log"],
                "points": entry["goodness"]["points"],
                "backtest_mean_rel_error": entry["backtest"].get("mean_rel_error"),
                "holdout_mean_rel_error": (entry.get("holdout") or {}).get("mean_rel_error"),
                "selected": name in selected,
                "warnings": "; ".join(entry["warnings"] + _backtest_warning(entry)),
            }
            quantities = {**entry["params"], **entry.get("derived", {})}
            for p, v in quantities.items():
                ci = v.get("ci95") or [None, None]
                rows.append({**base, "param": p, "value": v["value"], "ci95_lo": ci[0], "ci95_hi": ci[1], **shared})
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
    ]
    return pd.DataFrame(rows, columns=columns)


def _backtest_warning(entry: dict) -> list[str]:
    return [f"backtest: {entry['backtest']['warning']}"] if "warning" in entry["backtest"] else []


def write_outputs(fits: dict, out_dir, title: str, figures: bool = True) -> list[Path]:
    """fits.json, laws.csv and figures/<law>.{png,pdf} (every group in one figure per law; a
    group or law that was not fitted appears there as a note saying why)."""
    out_dir = Path(out_dir)
    store.atomic_write_json(out_dir / "fits.json", fits)
    store.atomic_write_text(out_dir / "laws.csv", law_table(fits).to_csv(index=False))
    written = [out_dir / "fits.json", out_dir / "laws.csv"]
    first = next(iter(fits.values()))
    for name in first["laws"] if figures else []:
        fig = law_figure(_figure_entries(fits, name), f"{title}: {name}", x_labels=first["x"], y_label=first["y"])
        written += save(fig, out_dir / "figures" / name)
    return written


def _figure_entries(fits: dict, name: str) -> list[tuple[str, dict]]:
    """The first MAX_DRAWN fitted groups, and notes for the rest: a figure of 100 curves is
    unreadable and took most of a run's time to draw (laws.csv and fits.json have them all)."""
    drawn, notes = [], []
    for key, fit in fits.items():
        entry = _drawable(fit, name)
        (drawn if "params" in entry else notes).append((key, entry))
    if len(notes) > MAX_NOTES:
        notes = notes[:MAX_NOTES] + [("...", {"error": f"{len(notes) - MAX_NOTES} more group(s) not fitted"})]
    if len(drawn) > MAX_DRAWN:
        notes.append(("...", {"error": f"{len(drawn) - MAX_DRAWN} more fitted group(s) not drawn: see laws.csv"}))
    return drawn[:MAX_DRAWN] + notes


def _drawable(fit: dict, name: str) -> dict:
    """The entry of law `name`, or a note of why it was not fitted (the figure prints it)."""
    entry = fit.get(name, {})
    return entry if "params" in entry else {"error": entry.get("error") or entry.get("skipped") or fit.get("error")}
