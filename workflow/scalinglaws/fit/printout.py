"""What `scalinglaws fit` prints: each group's fitted laws, their backtests and the selection."""

from __future__ import annotations

from .combine import describe as describe_combination
from .curves import read_fits
from .selection import describe


def table_fit_lines(fits: dict, table: str, group: str | None) -> list[str]:
    """The lines printed for an external-table fit, one block per group: each law's summary()."""
    lines = []
    for key, fit in read_fits(fits).items():
        lines.append(f"== {table}" + (f" [{group} = {key}]" if group else ""))
        if fit.error:
            lines.append(f"not fitted: {fit.error}")
            continue
        if fit.info.get("averaged"):
            lines.append(f"note: {fit.info['averaged']}")
        for name in fit.law_names:
            entry = fit.laws[name]
            if not entry.fitted and entry.skipped and fit.selection:
                continue  # left out by --law auto: the selection below says why, once
            lines.append(entry.summary())
        for choice in fit.selection:
            lines += describe(choice)
        for combo in fit.info.get("combination", []):
            lines += describe_combination(combo)
    return lines
