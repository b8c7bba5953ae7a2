"""What `scalinglaws fit` prints: each group's fitted laws, their backtests and the selection."""

from __future__ import annotations

from .selection import describe


def table_fit_lines(fits: dict, table: str, group: str | None) -> list[str]:
    """The lines printed for an external-table fit, one block per group."""
    lines = []
    for key, fit in fits.items():
        lines.append(f"== {table}" + (f" [{group} = {key}]" if group else ""))
        if "error" in fit:
            lines.append(f"not fitted: {fit['error']}")
            continue
        for name in fit["laws"]:
            entry = fit[name]
            if "skipped" in entry and fit["selection"]:
                continue  # left out by --law auto: the selection below says why, once
            lines.append(entry.get("summary") or f"{name}: not fitted: {entry.get('error') or entry.get('skipped')}")
            bt, held = entry.get("backtest", {}), entry.get("holdout") or {}
            if "mean_rel_error" in bt:
                lines.append(f"  backtest ({bt['how']}): mean relative error {100 * bt['mean_rel_error']:.2f}%")
            if "warning" in bt:
                lines.append(f"  warning: backtest: {bt['warning']}")
            if "mean_rel_error" in held:
                lines.append(
                    f"  held-out rows ({held['points']}): mean relative error {100 * held['mean_rel_error']:.2f}%"
                )
        for choice in fit["selection"]:
            lines += describe(choice)
    return lines
