"""External tables: fit laws to any CSV of measurements, without training anything.

Rows are runs; rows that share the same x values are averaged into one point, and the
bootstrap redraws those runs, but only if they are replicates: rows with the same x that
differ in another column are an error unless that column is named as the replicate column
(seeds, say). Bad input stops with one line that names the file, the column and the row (row 1
is the first line after the header). A group whose fit fails does not stop the others: its
entry says why (`failed_groups` lists them, and the CLI's exit status says so).
"""

from __future__ import annotations

import csv
import io
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from .combine import combine
from .entry import fit_entry
from .laws import LAWS, FitError, auto_laws, make_law
from .laws.base import quiet
from .progress import PROGRESS
from .selection import select_law
from .uncertainty import Replicates, collapse_runs, resample_runs, runs_noise
from .weights import relative_errors, runs_cube, with_error_draws

AUTO = auto_laws()  # --law auto: the laws it considers, by number of x columns
TRUE, FALSE = {"1", "true", "yes", "y", "t"}, {"0", "false", "no", "n", "f", ""}


class TableError(UserError):
    """The table cannot be fitted as asked; the message names the file, column and row."""


@dataclass
class TableSpec:
    """What to fit in a table: `laws` of y against the x columns, per value of `group`; rows
    flagged in `holdout_col` are only predicted. `derive` adds computed columns and `where`
    keeps rows (pandas expressions); `options` are per-law constructor options; rows with the
    same x that differ in `replicate_col` are replicates (averaged, redrawn by the bootstrap)."""

    path: Path | str
    laws: list[str]
    x_cols: list[str]
    y_col: str
    group: str | None = None
    holdout_col: str | None = None
    derive: dict[str, str] = field(default_factory=dict)
    where: str | None = None
    options: dict = field(default_factory=dict)
    replicate_col: str | None = None
    auto: bool = False  # laws came from --law auto: skip those that could not be selected anyway


def resolve_laws(names: list[str], x_cols: list[str]) -> list[str]:
    """Law names (or 'auto') checked against the number of x columns."""
    if names == ["auto"]:
        if len(x_cols) not in AUTO:
            raise TableError(f"--law auto: no laws take {len(x_cols)} x columns")
        return list(AUTO[len(x_cols)])
    for name in names:
        if name not in LAWS:
            raise TableError(f"unknown law '{name}' (choose from: {', '.join(LAWS)}, or auto)")
        inputs = LAWS[name].x_names
        if len(inputs) != len(x_cols):
            raise TableError(
                f"law '{name}' takes {len(inputs)} x column(s) ({', '.join(inputs)}), "
                f"got {len(x_cols)}: {', '.join(x_cols)}"
            )
    return names


def _evaluate(path: Path, numbers: pd.DataFrame, expr: str, what: str) -> pd.Series:
    try:
        return numbers.eval(expr)
    except Exception as exc:  # eval raises many kinds; all mean the same to the user
        reason = str(exc).replace("BACKTICK_QUOTED_STRING_", "")
        raise TableError(f"{path}: cannot compute {what} {expr!r}: {reason}") from None


def derive_and_filter(path: Path, raw: pd.DataFrame, derive: dict[str, str], where: str | None) -> pd.DataFrame:
    """Add computed columns, e.g. {"D": "`Training FLOP` / (6 * `Model Size`)"}, then keep the
    rows where `where` holds (pandas expressions; backticks quote names with spaces)."""
    numbers = raw.apply(pd.to_numeric, errors="coerce")
    for name, expr in derive.items():
        numbers[name] = _evaluate(path, numbers, expr, f"column {name} =")
        raw[name] = numbers[name].map(repr)
    if where:
        keep = _evaluate(path, numbers, where, "--where")
        raw = raw[keep.astype(bool).to_numpy()].reset_index(drop=True)
    return raw


def load_table(spec: TableSpec) -> pd.DataFrame:
    """The needed columns as numbers; x and y must be positive (every law takes their logs)."""
    path, x_cols, y_col, group, holdout_col = Path(spec.path), spec.x_cols, spec.y_col, spec.group, spec.holdout_col
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise TableError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: not a readable CSV table ({str(exc).strip()})") from None
    check_fields(path, text)
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise TableError(f"{path}: not a readable CSV table ({str(exc).strip()})") from None
    raw = derive_and_filter(path, raw, spec.derive, spec.where)
    for col in [*x_cols, y_col, group, holdout_col, spec.replicate_col]:
        if col is not None and col not in raw.columns:
            raise TableError(f"{path}: no column '{col}' (the columns are: {', '.join(raw.columns)})")
    if raw.empty:
        raise TableError(f"{path}: the table has no rows")
    table = pd.DataFrame(index=raw.index)
    for col in [*x_cols, y_col]:
        cells = raw[col].str.strip()
        values = pd.to_numeric(cells, errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() | ~np.isfinite(values.to_numpy(float)))
        if len(bad):
            i = bad[0]
            what = "is empty" if cells.iloc[i] == "" else f"{cells.iloc[i]!r} is not a number"
            raise TableError(f"{path}: column '{col}', row {i + 1} (line {i + 2}): {what}")
        bad = np.flatnonzero(values.to_numpy(float) <= 0)
        if len(bad):
            i = bad[0]
            raise TableError(
                f"{path}: column '{col}', row {i + 1} (line {i + 2}): {values.iloc[i]:g} is not positive, "
                "but the laws take its logarithm"
            )
        table[col] = values.astype(float)
    if group is not None:
        table[group] = raw[group].str.strip()
    if holdout_col is not None:
        flags = raw[holdout_col].str.strip().str.lower()
        bad = np.flatnonzero(~flags.isin(TRUE | FALSE).to_numpy())
        if len(bad):
            i = bad[0]
            raise TableError(
                f"{path}: column '{holdout_col}', row {i + 1} (line {i + 2}): {raw[holdout_col].iloc[i]!r} "
                "is not a hold-out flag (1/0, true/false, yes/no)"
            )
        table[holdout_col] = flags.isin(TRUE)
    check_replicates(path, raw, table, spec)
    return table


def check_fields(path: Path, text: str) -> None:
    """Every row has as many fields as the header. pandas takes a first data row with one field
    too many as a row index and shifts its columns, so the fault was reported in another row."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    row = 0
    for fields in reader:
        if not fields:
            continue  # a blank line: no row (pandas skips it too)
        row += 1
        if len(fields) != len(header):
            raise TableError(
                f"{path}: row {row} (line {reader.line_num}): {len(fields)} fields, but the header has "
                f"{len(header)} ({', '.join(header)})"
            )


def check_replicates(path: Path, raw: pd.DataFrame, table: pd.DataFrame, spec: TableSpec) -> None:
    """Rows with the same x (within a group, and replicate) must agree in every other column:
    otherwise averaging them would silently mix different settings."""
    keys = [c for c in (spec.group, spec.replicate_col) if c] + spec.x_cols
    others = [c for c in raw.columns if c not in {*keys, spec.y_col, spec.holdout_col}]
    frame = pd.concat([table[spec.x_cols], raw[[c for c in keys if c not in spec.x_cols] + others]], axis=1)
    if not others or not frame.duplicated(keys).any():
        return
    varies = frame.groupby(keys, sort=False)[others].nunique(dropna=False).max() > 1
    cols = [c for c in others if varies[c]]
    if cols:
        key = frame[frame.duplicated(keys, keep=False)].iloc[0]
        where = ", ".join(f"{c} = {key[c]}" for c in keys)
        raise TableError(
            f"{path}: rows with the same {', '.join(keys)} ({where}) differ in column(s) "
            f"{', '.join(repr(c) for c in cols)}: name the column that tells replicates apart "
            "(--replicate-col), fit them separately (--group) or keep one kind (--where)"
        )


def fit_group(rows: pd.DataFrame, spec: TableSpec, replicates: int, seed: int) -> dict:
    """Every law fitted to one group's rows: points = mean y per distinct x."""
    laws, x_cols, y_col, holdout_col = spec.laws, spec.x_cols, spec.y_col, spec.holdout_col
    held = rows[holdout_col].to_numpy(bool) if holdout_col else np.zeros(len(rows), bool)
    if held.all():
        raise TableError(f"every row is held out by '{holdout_col}': nothing to fit")
    x_rows, y_rows = rows[x_cols].to_numpy(float), rows[y_col].to_numpy(float)
    x_fit, y_fit, index = collapse_runs(x_rows[~held], y_rows[~held])
    cube = runs_cube(index, y_rows[~held])
    errors = relative_errors(cube)  # each point's seed error (None: one run each)
    x_out, y_out = (
        collapse_runs(x_rows[held], y_rows[held])[:2] if held.any() else (np.empty((0, len(x_cols))), np.empty(0))
    )
    x, y = np.vstack([x_fit, x_out]), np.concatenate([y_fit, y_out])
    holdout = np.r_[np.zeros(len(y_fit), bool), np.ones(len(y_out), bool)] if holdout_col else None
    out = {"rows": int(len(rows)), "points": int(len(y)), "held_out_points": int(len(y_out)), "laws": laws}
    if spec.replicate_col is None and len(x_fit) < (~held).sum():  # averaged: say so, not silently
        out["averaged"] = (
            f"{int((~held).sum())} rows at {len(x_fit)} distinct x values: rows with the same x were averaged into "
            "one point and are redrawn as its replicates by the bootstrap; name the column that tells them "
            "apart (a seed) with --replicate-col"
        )
    axis = LAWS[laws[0]].axis  # every law's backtest cuts along the same input, so that they compare
    noise = runs_noise(x_rows[~held], y_rows[~held])
    for name in laws:
        options = LAWS[name].seed_noise_options(spec.options.get(name, {}), noise.point_var)
        law = make_law(name, **options).weigh(x_fit, errors)
        if spec.auto and len(law.free) >= len(y_fit):
            out[name] = {
                "law": name,
                "skipped": f"{len(law.free)} parameters for {len(y_fit)} points leave no degree of freedom: "
                f"left out by --law auto; --law {name} fits it anyway",
            }
            continue
        PROGRESS.law(name)
        what, reps = resample_runs(x_rows[~held], y_rows[~held], replicates, seed)
        if errors is not None:  # each replicate weighs by its own draw of the points' errors, as in a study
            reps = with_error_draws(reps, cube, replicates, seed)
        try:
            out[name] = fit_entry(law, x, y, Replicates(reps, what, seed), axis=axis, holdout=holdout, noise=noise)
        except FitError as exc:
            out[name] = {"law": name, "error": str(exc)}
        except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
            out[name] = {"law": name, "error": f"{type(exc).__name__}: {exc}"}
        if "how" in out[name].get("backtest", {}):  # the table's column, not the law's name for that input
            out[name]["backtest"]["how"] = f"fit on {x_cols[axis]} <= cutoff, predict {x_cols[axis]} > cutoff"
    if all("skipped" in out[name] for name in laws):
        raise TableError(
            f"{len(y_fit)} points are too few for --law auto: every law has as many parameters or more "
            "(name a law with --law to fit it anyway)"
        )
    among = "laws fitted to this table"
    choice = select_law({name: out[name] for name in laws}, among=among)
    out["selection"] = [choice] if choice else []
    # laws of one role are combined: a best size is no error to be averaged with one
    roles = dict.fromkeys(LAWS[name].role for name in laws)
    combos = [combine({n: out[n] for n in laws if LAWS[n].role is role}, among=among) for role in roles]
    out["combination"] = [c for c in combos if c]
    return out


def failures(fits: dict) -> list[str]:
    """One line per group that could not be fitted ('group: why', or 'group: law: why; ...' when
    the laws failed for different reasons), and 'group: law: why' per failed law of the others."""
    out = []
    for key, fit in fits.items():
        if "error" in fit:
            out.append(f"{key}: {fit['error']}")
            continue
        failed = {name: fit[name]["error"] for name in fit.get("laws", []) if "error" in fit.get(name, {})}
        fitted = [name for name in fit.get("laws", []) if "params" in fit.get(name, {})]
        if failed and not fitted and len(set(failed.values())) == 1:
            out.append(f"{key}: {next(iter(failed.values()))}")
        elif failed and not fitted:
            out.append(f"{key}: " + "; ".join(f"{name}: {why}" for name, why in failed.items()))
        else:
            out += [f"{key}: {name}: {why}" for name, why in failed.items()]
    return out


def _fit_one(key, rows: pd.DataFrame, spec: TableSpec, replicates: int, seed: int, place=(1, 1)) -> dict:
    """One group's entry; a group that cannot be fitted gets its error instead. `place` is its
    (index, count) among the groups, for the progress line."""
    PROGRESS.group(*place, key)
    entry = {
        "table": str(spec.path),
        "x": spec.x_cols,
        "y": spec.y_col,
        "group": spec.group,
        "group_value": key,
        "laws": spec.laws,
    }
    try:
        with quiet():
            entry.update(fit_group(rows, spec, replicates, seed))
    except (TableError, FitError, ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
        entry.update({"error": str(exc), "selection": []})
    return entry


def _fit_in_processes(args: list[tuple], jobs: int) -> list[dict]:
    """The groups fitted by `jobs` processes; the progress line counts the groups done (the
    processes themselves show none: their lines would overwrite each other)."""
    shown, PROGRESS.enabled = PROGRESS.enabled, False  # the processes inherit it off
    try:
        with ProcessPoolExecutor(min(jobs, len(args))) as pool:
            futures = [pool.submit(_fit_one, *a) for a in args]
            PROGRESS.enabled = shown
            PROGRESS.law(f"{len(args)} groups in {min(jobs, len(args))} processes", "started")
            for done, _ in enumerate(as_completed(futures), 1):
                PROGRESS.stage(f"{done}/{len(args)} groups done")
            return [f.result() for f in futures]
    finally:
        PROGRESS.enabled = shown


def fit_table(spec: TableSpec, replicates: int = 200, seed: int = 0, jobs: int = 1) -> dict:
    """Fits keyed by group value ("all" without a group), in the same shape as a study's. A
    group that cannot be fitted gets an entry with its error; the others are fitted. Groups are
    fitted by `jobs` processes; every group's numbers are the same for any `jobs`."""
    spec.auto = spec.auto or spec.laws == ["auto"]
    spec.laws = resolve_laws(spec.laws, spec.x_cols)
    table = load_table(spec)
    groups = list(table.groupby(spec.group, sort=True)) if spec.group else [("all", table)]
    args = [(key, rows, spec, replicates, seed, (i, len(groups))) for i, (key, rows) in enumerate(groups, 1)]
    if jobs > 1 and len(groups) > 1:
        entries = _fit_in_processes(args, jobs)
    else:
        entries = [_fit_one(*a) for a in args]
    return {str(key): entry for (key, _), entry in zip(groups, entries)}
