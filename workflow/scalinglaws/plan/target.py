"""What a curve's fit says about reaching an error, more data, and a compute budget.

Every interval here is a 95% percentile interval over the fit's stored bootstrap replicates:
each replicate is solved for the quantity asked (the n that reaches the target error, the best
size there, its compute), so the intervals follow from the fit's uncertainty without any other
assumption. Errors at a given n reuse `scalinglaws predict`'s intervals (fit/intervals.py): the
CI of the mean curve and the PI of one new run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from .cost import Knob, Protocol, Throughput
from .curve import Curve, PlanError, interval, load_curve
from .options import FACTORS

N_RANGE = (1.0, 1e30)  # where targets are searched for (examples)
BUDGET_GRID = 400  # data sizes tried when a joint law splits a budget


@dataclass
class Context:
    """A curve with what turns its sizes into knob values, FLOPs and device-hours."""

    curve: Curve
    protocol: Protocol = field(default_factory=Protocol)
    knob: Knob | None = None
    throughput: list[Throughput] = field(default_factory=list)

    @classmethod
    def from_fits(
        cls,
        fits: dict,
        group: str | None = None,
        law: str | None = None,
        study=None,
        runs: pd.DataFrame | None = None,
        source: str = "fits.json",
    ) -> "Context":
        """The context of one curve of a fits.json's content: `study` (a Study) gives the
        protocol, `runs` (runs.csv) the size knob and the measured throughput."""
        curve = load_curve(source, fits, group, law)
        protocol = Protocol()
        if study is not None:
            t = study.train_spec
            protocol = Protocol(t, members=len(t.seeds) * len(t.learning_rates))
        knob = None
        if runs is not None and "/" in curve.group:
            dataset, family = curve.group.split("/", 1)
            knob = Knob.from_runs(runs[(runs["dataset"] == dataset) & (runs["family"] == family)])
        return cls(curve, protocol, knob, Throughput.measured(runs))


def as_context(ctx) -> Context:
    """A Context, or the content of a fits.json with one curve (for a report's convenience)."""
    return ctx if isinstance(ctx, Context) else Context.from_fits(ctx)


def crossing(fn, target: float, lo: float = N_RANGE[0], hi: float = N_RANGE[1]) -> float:
    """The x in [lo, hi] where the decreasing fn(x) falls to target (bisection in log x): lo
    if it is already there, inf if it never gets there."""
    if fn(hi) > target:
        return float("inf")
    if fn(lo) <= target:
        return lo
    a, b = np.log(lo), np.log(hi)
    for _ in range(80):
        mid = (a + b) / 2
        a, b = (mid, b) if fn(np.exp(mid)) > target else (a, mid)
    return float(np.exp(b))


def _value(estimate, values) -> dict:
    """An estimate with its interval over replicates (infinite values: open ends)."""
    est = None if estimate is None or not np.isfinite(estimate) else float(estimate)
    return {"value": est, "ci95": interval(values)}


def _costs(ctx: Context, params, n, params_reps, n_reps) -> dict:
    """FLOPs of one run (and of one job of the study) and device-hours, with intervals."""
    if params is None or params_reps is None:
        return {}
    flops = ctx.protocol.flops(params, n) if np.isfinite(n) else np.inf
    reps = np.where(np.isfinite(n_reps), ctx.protocol.flops(params_reps, np.minimum(n_reps, 1e300)), np.inf)
    out = {
        "flops": _value(flops, reps),
        "flops_job": None if not np.isfinite(flops) else float(flops) * ctx.protocol.members,
    }
    out["hours"] = [
        {"device": t.device, "gpu": t.device == "cuda", **_value(t.hours(flops), t.hours(reps))} for t in ctx.throughput
    ]
    return out


def _sizes(ctx: Context, params, params_reps) -> dict:
    if params is None:
        return {"params": None}
    out = {"params": _value(params, params_reps)}
    if ctx.knob is not None:
        out["knob"] = _value(ctx.knob.knob_of(params), ctx.knob.knob_of(params_reps))
    return out


def target_error(ctx: Context, error: float) -> dict:
    """The data size n, the best model size there and the training compute that reach `error`,
    each with its interval; "not reachable" when `error` is below the irreducible error's CI."""
    if not (np.isfinite(error) and error > 0):
        raise PlanError(f"--target-error {error}: must be a positive number")
    ctx = as_context(ctx)
    curve = ctx.curve
    floor, floor_ci = curve.floor()
    out = {"target_error": error, "law": curve.name, "irreducible": {"value": floor, "ci95": floor_ci}}
    if floor_ci and floor_ci[0] is not None and error <= floor_ci[0]:
        return {
            **out,
            "status": "not reachable",
            "reason": f"the target {error:.4g} is below the irreducible error's 95% CI "
            f"[{floor_ci[0]:.4g}, {floor_ci[1]:.4g}] (estimate {floor:.4g})",
        }
    n_hat = crossing(curve.error_estimate, error)
    n_reps = np.array([crossing(lambda n: curve.error_at(n, p), error) for p in curve.replicates()])
    status, reason = "reachable", None
    if n_hat <= curve.n_max:  # the data reach it: no extrapolation, least of all below the smallest shard
        status, reason = "already reached", _reached(curve, n_hat, error)
        n_hat, n_reps = max(n_hat, curve.n_min), np.maximum(n_reps, curve.n_min)
    elif not np.isfinite(n_hat):
        status, reason = (
            "uncertain",
            (
                f"the target {error:.4g} is below the fitted irreducible error {floor:.4g} "
                "but inside its 95% CI: only some replicates reach it"
            ),
        )
    elif not np.isfinite(n_reps).all():
        never = int((~np.isfinite(n_reps)).sum())  # as a count: 1 of 200 printed as "0%" read as none
        reason = f"{never} of the {len(n_reps)} replicates never reach it: the interval is open above"
    out.update(
        status=status,
        reason=reason,
        n=_value(n_hat, n_reps),
        beyond_data=n_hat / curve.n_max if np.isfinite(n_hat) else None,
    )
    params = None if not (curve.has_size and np.isfinite(n_hat)) else float(curve.size_estimate(n_hat))
    params_reps = curve.sizes_each(n_reps) if curve.has_size else None
    return {**out, **_sizes(ctx, params, params_reps), **_costs(ctx, params, n_hat, params_reps, n_reps)}


def _reached(curve: Curve, n_hat: float, error: float) -> str:
    """Where the measured shards already reach `error`, in words."""
    if n_hat <= curve.n_min:
        at = float(curve.error_estimate(curve.n_min))
        return (
            f"at n = {curve.n_min:.4g}, the smallest shard: the fit's error there is {at:.4g}, below the "
            f"target {error:.4g}"
        )
    return f"at n = {n_hat:.4g}, inside the measured shards ({curve.n_min:.4g} to {curve.n_max:.4g})"


def smallest_run(ctx: Context) -> tuple[float, float]:
    """The parameters and FLOPs of one run on the smallest shard at its best size."""
    curve = ctx.curve
    params = float(curve.size_estimate(curve.n_min)) if curve.has_size else np.nan
    return params, float(ctx.protocol.flops(params, curve.n_min))


def data_factor_table(ctx: Context, factors=FACTORS) -> pd.DataFrame:
    """What k times the largest shard buys, one row per k: the error at the best size with the
    CI of the mean curve and the PI of one new run, that best size, and one run's FLOPs.
    `ctx`: a Context, or a fits.json's content with one curve."""
    ctx = as_context(ctx)
    curve = ctx.curve
    ks = np.asarray(factors, float)
    if (ks <= 0).any():
        raise PlanError(f"--data-factor {', '.join(f'{k:g}' for k in ks)}: factors must be positive")
    n = ks * curve.n_max
    iv = curve.predict(n)
    table = pd.DataFrame({"factor": ks, "n": n, **{k: (None if v is None else np.asarray(v)) for k, v in iv.items()}})
    sizes = curve.sizes(n)
    if sizes is not None:
        table["best_params"] = curve.size_estimate(n)
        lo_hi = [interval(sizes[:, i]) or [None, None] for i in range(len(n))]
        table["best_params_low"], table["best_params_high"] = zip(*lo_hi)
        if ctx.knob is not None:
            table["best_knob"] = ctx.knob.knob_of(table["best_params"])
        table["flops"] = ctx.protocol.flops(table["best_params"], n)
    return table


def budget_split(ctx: Context, budget: float) -> dict:
    """For one run of `budget` FLOPs, the data size and model size that give the lowest error.

    power + size: the model is the best size for its data, so the best split is the largest n
    whose run at its best size fits the budget. Joint law: for every n the largest model the
    budget allows, and the n whose error is lowest (a grid in log n)."""
    if not (np.isfinite(budget) and budget > 0):
        raise PlanError(f"--budget {budget}: must be a positive number of FLOPs")
    ctx = as_context(ctx)
    curve = ctx.curve
    if not curve.has_size:
        raise PlanError(
            f"group {curve.group!r}: a budget split needs the best-size law (fit.laws: size) or a joint law"
        )
    if curve.joint:
        n_hat, m_hat = _joint_split(ctx, curve.law.params_, budget)
        splits = np.array([_joint_split(ctx, p, budget) for p in curve.replicates()])
        n_reps, m_reps = splits[:, 0], splits[:, 1]
    else:

        def split(p, q):
            n = crossing(lambda n: -ctx.protocol.flops(curve.size_at(n, p, q), n), -budget)
            return n, float(curve.size_at(n, p, q)) if np.isfinite(n) else np.inf

        n_hat, m_hat = split(curve.law.params_, curve.size_law.params_)
        n_reps, m_reps = np.array([split(p, q) for p, q in zip(curve.replicates(), curve.size_replicates())]).T
    if not np.isfinite(n_hat):
        raise PlanError(f"--budget {budget:g}: more than any data size up to {N_RANGE[1]:g} needs")
    if n_hat < curve.n_min:  # the split would extrapolate below the data, down to n = 1
        params, flops = smallest_run(ctx)
        return {
            "budget": budget,
            "law": curve.name,
            "status": "below the smallest run",
            "reason": f"one run on the smallest shard, n = {curve.n_min:.4g}, at its best size ({params:.4g} "
            f"parameters) costs {flops:.3g} FLOPs; the fit says nothing about less data",
        }
    iv = curve.predict([n_hat]) if not curve.joint else _joint_predict(curve, m_hat, n_hat)
    error = {k: None if v is None else float(np.asarray(v)[0]) for k, v in iv.items()}
    return {
        "budget": budget,
        "law": curve.name,
        "n": _value(n_hat, n_reps),
        **_sizes(ctx, m_hat, m_reps),
        "error": error,
        "flops": float(ctx.protocol.flops(m_hat, n_hat)),
    }


def _joint_split(ctx: Context, p: dict, budget: float) -> tuple[float, float]:
    """(n, m) of the lowest error for one run of `budget` FLOPs: m is the largest model the
    budget allows at n; n from a grid in log n, refined between the best point's neighbours."""
    curve = ctx.curve

    def error(log_n):
        n = np.exp(np.atleast_1d(log_n))
        rows = np.empty((len(n), 2))
        rows[:, curve.law.axis], rows[:, 1 - curve.law.axis] = n, budget / ctx.protocol.flops(1.0, n)
        with np.errstate(all="ignore"):
            return np.where(rows[:, 1 - curve.law.axis] >= 1, curve.law._f(rows, p), np.inf)

    grid = np.linspace(np.log(N_RANGE[0]), np.log(1e15), BUDGET_GRID)
    errors = error(grid)
    if not np.isfinite(errors).any():
        return np.inf, np.inf
    i = int(np.argmin(errors))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    best = minimize_scalar(lambda v: float(error(v)[0]), bounds=(lo, hi), method="bounded", options={"xatol": 1e-6}).x
    n = float(np.exp(best if error(best)[0] <= errors[i] else grid[i]))
    return n, float(budget / ctx.protocol.flops(1.0, n))


def _joint_predict(curve: Curve, m: float, n: float) -> dict:
    from ..fit.intervals import intervals

    row = np.empty((1, 2))
    row[0, curve.law.axis], row[0, 1 - curve.law.axis] = n, m
    return intervals(curve.law, curve.samples, curve.noise, row, curve.seed)
