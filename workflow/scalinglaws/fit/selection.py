"""Law selection: among laws fitted to the same data, the one whose backtests extrapolated best."""
from __future__ import annotations


def select_law(entries: dict[str, dict], among: str) -> dict | None:
    """The law with the lowest backtest score among fitted `entries` ({name: fit entry})."""
    scores = {name: e["backtest"]["mean_rel_error"] for name, e in entries.items()
              if "mean_rel_error" in e.get("backtest", {})}  # fmt: skip
    if len(scores) < 2:
        return None
    best = min(scores, key=scores.get)
    return {"among": among, "law": best, "by": "mean relative extrapolation error in backtests", "scores": scores}
