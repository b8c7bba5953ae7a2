"""Law selection: which of several laws fitted to the same data extrapolates best.

Like for like: every candidate is scored on the same rolling-origin splits along the same input
(the backtest cutoffs they all could be fitted on), by the RMSE of log(y) on the points beyond
each cutoff, never on rows the user held out. A law whose fit or score failed never wins; a law
with fewer parameters wins a near-tie (within one standard error of the paired difference over
splits). AIC and BIC of the full fits are a second opinion. The selection is a record of which
law backtested best; the default prediction combines the laws instead (combine.py).
"""

from __future__ import annotations

import numpy as np

DISTANCES = (1.0, 2.0, 4.0, 8.0, np.inf)  # bins of x / cutoff for the error by extrapolation distance
NEAR_TIE = 0.1  # with one shared split (no standard error), a relative score gap that counts as a tie


def _free(entry: dict) -> int:
    if "params" in entry:
        return sum(not v["fixed"] for v in entry["params"].values())
    return len(next(s["params"] for s in entry["backtest"]["splits"] if "params" in s))


def _split_scores(entry: dict) -> dict[float, dict]:
    return {s["train_max"]: s for s in entry["backtest"]["splits"] if np.isfinite(s.get("rmse_log", np.nan))}


def _by_distance(splits: list[dict]) -> list[dict]:
    """|log(predicted / observed)| pooled over splits, by how far beyond the cutoff (x / cutoff)."""
    dist = np.concatenate([s["distance"] for s in splits])
    err = np.abs(np.log(np.concatenate([np.divide(s["predicted"], s["observed"]) for s in splits])))
    out = []
    for lo, hi in zip(DISTANCES[:-1], DISTANCES[1:]):
        e = err[(dist > lo) & (dist <= hi)]
        if len(e):
            se = float(e.std(ddof=1) / np.sqrt(len(e))) if len(e) > 1 else None
            out.append(
                {
                    "x_over_cutoff": f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">{lo:g}",
                    "points": len(e),
                    "mean_abs_log_error": float(e.mean()),
                    "se": se,
                }
            )
    return out


def _information(entries: dict[str, dict], candidates: list[str]) -> dict | None:
    """AIC and BIC of the full fits (Gaussian log residuals), when all fitted the same points."""
    good = {c: entries[c].get("goodness") for c in candidates}
    if any(g is None for g in good.values()) or len({g["points"] for g in good.values()}) != 1:
        return None
    n = next(iter(good.values()))["points"]
    out = {}
    for c, g in good.items():
        fit = n * np.log(max(g["rmse_log"], 1e-300) ** 2)
        k = _free(entries[c])
        out[c] = {"aic": float(fit + 2 * k), "bic": float(fit + k * np.log(n))}
    return {
        "by_law": out,
        "aic_prefers": min(out, key=lambda c: out[c]["aic"]),
        "bic_prefers": min(out, key=lambda c: out[c]["bic"]),
    }


def _shared_splits(entries: dict[str, dict], candidates: list[str], excluded: dict[str, str]) -> list[float]:
    """The cutoffs every candidate was scored on; candidates that break the sharing (most
    parameters first) are dropped until some cutoff is shared."""
    candidates.sort(key=lambda c: (_free(entries[c]), c))
    while candidates:
        shared = set.intersection(*(set(_split_scores(entries[c])) for c in candidates))
        if shared:
            return sorted(shared)
        excluded[candidates.pop()] = "no backtest split that the other candidates share could be fitted and scored"
    return []


def select_law(entries: dict[str, dict], among: str) -> dict | None:
    """The law that extrapolated best in like-for-like backtests among `entries` ({name: fit
    entry}), with why; None if fewer than two laws were asked for."""
    if len(entries) < 2:
        return None
    excluded, candidates = {}, []
    axes = {e["backtest"].get("axis_index", e["backtest"]["axis"]) for e in entries.values() if "backtest" in e}
    for name, e in entries.items():
        if "backtest" not in e:
            excluded[name] = e.get("skipped") or f"not fitted: {e.get('error', 'no backtest')}"
        elif len(axes) > 1:
            excluded[name] = "the laws' backtests cut along different inputs: not comparable"
        else:
            candidates.append(name)
    shared = _shared_splits(entries, candidates, excluded)
    out = {
        "among": among,
        "law": None,
        "by": "RMSE of log(y) beyond the cutoff, mean over shared backtest splits",
        "splits": shared,
        "candidates": candidates,
        "not_candidates": excluded,
    }
    if not candidates:
        out["reason"] = "no law is a candidate: " + "; ".join(f"{k}: {v}" for k, v in excluded.items())
        return out
    per_split = {c: np.array([_split_scores(entries[c])[t]["rmse_log"] for t in shared]) for c in candidates}
    scores = {c: float(v.mean()) for c, v in per_split.items()}
    ses = {c: float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else None for c, v in per_split.items()}
    best = min(candidates, key=lambda c: (scores[c], _free(entries[c])))
    chosen, why = best, f"lowest mean RMSE of log(y) over {len(shared)} shared split(s)"
    for c in candidates:  # sorted by parameters: the first simpler law within a near-tie wins
        if _free(entries[c]) >= _free(entries[best]):
            break
        diff = per_split[c] - per_split[best]
        tol = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else NEAR_TIE * scores[best]
        if diff.mean() <= tol:
            chosen = c
            why = f"within one standard error of {best}'s score ({scores[best]:.4g}) with fewer parameters"
            break
    if len(candidates) == 1:
        why = "the only candidate"
    out.update(
        {
            "law": chosen,
            "scores": scores,
            "se": ses,
            "reason": why,
            "by_distance": {c: _by_distance([_split_scores(entries[c])[t] for t in shared]) for c in candidates},
            "information": _information(entries, candidates) if len(candidates) > 1 else None,
        }
    )
    return out


def describe(choice: dict) -> list[str]:
    """The selection as printable lines: what was picked, why, the scores and the second opinion."""
    if choice["law"] is None:
        return [f"no law selected ({choice['among']}): no law is a candidate"] + [
            f"  {c}: not a candidate: {why}" for c, why in choice["not_candidates"].items()
        ]
    lines = [f"selected {choice['law']} ({choice['among']}): {choice['reason']}"]
    for c in choice["candidates"]:
        se = choice["se"][c]
        lines.append(
            f"  {c}: backtest RMSE of log(y) {choice['scores'][c]:.4g}"
            + (f" +- {se:.2g}" if se else "")
            + f" over {len(choice['splits'])} split(s)"
        )
    for c, why in choice["not_candidates"].items():
        lines.append(f"  {c}: not a candidate: {why}")
    bins = [
        f"{b['x_over_cutoff']}x: {b['mean_abs_log_error']:.3g}" + (f" +- {b['se']:.2g}" if b["se"] else "")
        for b in choice["by_distance"][choice["law"]]
    ]
    lines.append(f"  {choice['law']}: mean |log error| by distance beyond the cutoff: {'; '.join(bins)}")
    info = choice.get("information")
    if info:
        lines.append(f"  second opinion: AIC prefers {info['aic_prefers']}, BIC prefers {info['bic_prefers']}")
    return lines
