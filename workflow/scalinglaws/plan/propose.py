"""`plan --next`: which shards (and model sizes) to train next, to narrow the prediction
interval at the target the most per unit of compute.

How (optimal experimental design, kept small):
- The fit's uncertainty is its bootstrap replicates: their covariance S of the parameters (log
  scale parameters as logs, fixed ones left out) is the uncertainty now.
- A new point x (a shard, at the best size; for a joint law every size trained on it) is one
  more measurement of log eps(x) with the variance of a fitted point (its seeds' mean plus the
  shard-level part: `Noise.point_var + Noise.shared_var`, uncertainty.py) and gradient
  J = d log eps(x) / d theta. The Gaussian update
  S' = S - S J' (J S J' + var I)^-1 J S is what S becomes after measuring it, whatever the
  measurement turns out to be.
- At the target, the CI of the mean curve then narrows by sqrt(g' S' g / g' S g) (g: the
  gradient there), applied to the stored interval; the PI keeps its one-run noise part, so it
  cannot narrow below that floor.
- Candidates are the study's shard schedule continued past its largest shard (n_max f, n_max f^2,
  ... up to the first beyond the target, inside the pool), each with the model sizes it needs so
  that its best size (the upper end of its CI) is inside the grid (the knob continued as the
  grid grows). A candidate costs the FLOPs of every job it adds (all seeds x learning rates;
  a new size is trained on every shard).
- Greedy: take the candidate with the largest narrowing of the PI (its width in log units) per
  FLOP (the first whatever it costs), then the next, while the round costs at most
  `round_factor` times what the study's grid costs under the same protocol (default 1: a round
  at most doubles the study, as a 2x shard schedule does).
  Each round extends the data toward the target, so plan -> run -> plan converges on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .curve import PlanError
from .target import Context

MAX_CANDIDATES = 12  # shards tried beyond the largest one
MAX_NEW_SIZES = 3  # model sizes added for one shard at most (a weak size law can ask for many)


@dataclass
class Grid:
    """What the study trains on one curve: shard sizes and size-knob values (its config)."""

    shards: list[int]
    sizes: list[int]
    factor: float = 2.0  # the shard schedule's step
    pool: float = float("inf")  # the largest shard the dataset can give
    stored: object = None  # (size, shard) jobs -> those the store holds already (overlay.Stored); None: none

    @property
    def size_factor(self) -> float:
        return self.sizes[-1] / self.sizes[-2] if len(self.sizes) > 1 else 2.0


class Information:
    """The curve's parameter covariance from its replicates, updated by new measurements."""

    def __init__(self, ctx: Context):
        curve = ctx.curve
        law, samples = curve.law, curve.samples
        self.law, self.base = law, dict(law.params_)
        names = list(law.param_names)
        self.free = [i for i in range(len(names)) if np.ptp(samples[:, i]) > 0]
        self.logs = [
            names[i] in law.log_params and (samples[:, i] > 0).all() and law.params_[names[i]] > 0 for i in self.free
        ]
        theta = np.column_stack([np.log(samples[:, i]) if lg else samples[:, i] for i, lg in zip(self.free, self.logs)])
        self.center = np.array(
            [np.log(self.base[names[i]]) if lg else self.base[names[i]] for i, lg in zip(self.free, self.logs)]
        )
        self.cov = np.atleast_2d(np.cov(theta, rowvar=False))
        noise = curve.noise
        self.var = noise.shared_var + noise.point_var  # a new point: its seeds' mean, plus the shard's own part
        self.var = self.var if self.var > 0 else noise.new_run_var
        if not self.var > 0:
            raise PlanError(
                f"group {curve.group!r}: the fit has no noise estimate (too few points), so the value "
                "of a new point cannot be judged"
            )

    def _params(self, theta: np.ndarray) -> dict:
        p, names = dict(self.base), self.law.param_names
        for i, lg, v in zip(self.free, self.logs, theta):
            p[names[i]] = float(np.exp(v)) if lg else float(v)
        return p

    def gradient(self, rows: np.ndarray) -> np.ndarray:
        """d log eps / d theta at the rows (central differences)."""
        cols = []
        for j in range(len(self.center)):
            h = 1e-5 * max(1.0, abs(self.center[j]))
            up, down = self.center.copy(), self.center.copy()
            up[j] += h
            down[j] -= h
            with np.errstate(all="ignore"):
                diff = np.log(self.law._f(rows, self._params(up))) - np.log(self.law._f(rows, self._params(down)))
            cols.append(diff / (2 * h))
        return np.nan_to_num(np.column_stack(cols))

    def updated(self, cov: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The covariance after measuring log eps at `rows` (Gaussian update)."""
        if len(rows) == 0:
            return cov
        J = self.gradient(rows)
        gain = cov @ J.T @ np.linalg.inv(J @ cov @ J.T + self.var * np.eye(len(rows)))
        return cov - gain @ J @ cov

    def variance(self, cov: np.ndarray, rows: np.ndarray) -> float:
        g = self.gradient(rows)[0]
        return float(g @ cov @ g)


def _candidates(ctx: Context, grid: Grid, target_n: float) -> list[tuple[int, list[int]]]:
    """(shard, the new sizes it needs) for the schedule continued past the largest shard."""
    out, n = [], float(max(grid.shards))
    while len(out) < MAX_CANDIDATES:
        n = float(round(n * grid.factor))
        if n > grid.pool:
            break
        out.append((int(n), _sizes_needed(ctx, grid, n)))
        if n >= target_n:
            break
    if not out:
        raise PlanError(f"no shard beyond the largest ({max(grid.shards)}) fits in the dataset's pool ({grid.pool:g})")
    return out


def _sizes_needed(ctx: Context, grid: Grid, n: float) -> list[int]:
    """Knob values to add so that the grid's largest model is at least the upper end of the
    best size's CI at n."""
    if ctx.knob is None or not ctx.curve.has_size:
        return []
    high = float(np.nanpercentile(ctx.curve.sizes([n])[:, 0], 97.5))
    new, knob = [], float(grid.sizes[-1])
    while ctx.knob.params_of(knob) < high and len(new) < MAX_NEW_SIZES:
        knob = float(int(round(knob * grid.size_factor)))
        new.append(int(knob))
    return new


class Round:
    """The shards and sizes chosen so far in one round, with what they add and cost."""

    def __init__(self, ctx: Context, grid: Grid):
        self.ctx, self.grid, self.shards, self.sizes = ctx, grid, [], []

    def params(self, knob) -> float:
        return float(self.ctx.knob.params_of(knob)) if self.ctx.knob is not None else 1.0

    def jobs(self, shards: list[int], sizes: list[int], base: bool = False) -> list[tuple[int, int]]:
        """(size, shard) of every job that shards and sizes add to the grid (`base`: to nothing)."""
        old_shards, old_sizes = ([], []) if base else (self.grid.shards + self.shards, self.grid.sizes + self.sizes)
        all_sizes = old_sizes + [s for s in sizes if s not in old_sizes]
        added = [(z, n) for n in shards for z in all_sizes]
        return added + [(z, n) for z in sizes if z not in old_sizes for n in old_shards]

    def cost(self, jobs, all_jobs: bool = False) -> float:
        """The FLOPs of the jobs that would run: those whose record is not in the store (every
        one with `all_jobs`)."""
        p = self.ctx.protocol
        held = self.grid.stored(jobs) if self.grid.stored is not None and not all_jobs else set()
        return float(sum(p.members * p.flops(self.params(z), n) for z, n in jobs if (z, n) not in held))

    def rows(self, jobs, shards: list[int]) -> np.ndarray:
        """The law's new measurements: a curve point per shard, or every (size, shard) job."""
        curve = self.ctx.curve
        if not curve.joint:
            return np.array(shards, float).reshape(-1, 1)
        rows = np.empty((len(jobs), 2))
        rows[:, curve.law.axis] = [n for _, n in jobs]
        rows[:, 1 - curve.law.axis] = [self.params(z) for z, _ in jobs]
        return rows


def propose_next(ctx: Context, grid: Grid, target_n: float, round_factor: float = 1.0) -> dict:
    """The next shards and sizes to train (see the module's docstring), the PI at `target_n`
    expected after training them, and what they cost."""
    curve = ctx.curve
    if curve.joint and ctx.knob is None:
        raise PlanError(
            f"group {curve.group!r}: --next with a joint law needs the parameter counts of the study's "
            "sizes (its tables/runs.csv)"
        )
    info = Information(ctx)
    target = curve.points([target_n])
    iv = curve.predict([target_n])
    if iv["ci_low"] is None:
        raise PlanError(f"group {curve.group!r}: no interval at the target (too few bootstrap samples)")
    pred = float(iv["prediction"][0])
    ci = np.array([iv["ci_low"][0], iv["ci_high"][0]], float)
    pi = ci if iv["pi_low"] is None else np.array([iv["pi_low"][0], iv["pi_high"][0]], float)
    h_ci, h_pi = np.abs(np.log(ci / pred)), np.abs(np.log(pi / pred))  # each side, in log units
    noise = np.sqrt(np.maximum(h_pi**2 - h_ci**2, 0.0))  # the one-run part of the PI
    var0 = info.variance(info.cov, target)

    def after(cov) -> tuple[np.ndarray, np.ndarray]:
        """The CI and PI at the target once the measurements behind `cov` are made."""
        h = h_ci * (np.sqrt(max(info.variance(cov, target), 0.0) / var0) if var0 > 0 else 1.0)
        h_p = np.sqrt(h**2 + noise**2)
        return pred * np.exp([-h[0], h[1]]), pred * np.exp([-h_p[0], h_p[1]])

    def width(cov) -> float:
        """The PI's width in log units."""
        return float(np.log(after(cov)[1][1] / after(cov)[1][0]))

    plan, cov, steps = Round(ctx, grid), info.cov, []
    limit = round_factor * plan.cost(plan.jobs(grid.shards, grid.sizes, base=True), all_jobs=True)  # the study's
    spent, candidates = 0.0, _candidates(ctx, grid, target_n)
    while candidates:
        scored = []
        for n, sizes in candidates:
            jobs = plan.jobs([n], [z for z in sizes if z not in plan.sizes])
            new_cov = info.updated(cov, plan.rows(jobs, [n]))
            gain = width(cov) - width(new_cov)
            cost = plan.cost(jobs)
            scored.append((gain / cost if cost > 0 else (np.inf if gain > 0 else 0.0), n, sizes, jobs, new_cov))
        score, n, sizes, jobs, new_cov = max(scored, key=lambda s: s[0])
        if plan.shards and (score <= 0 or spent + plan.cost(jobs) > limit):
            break
        spent += plan.cost(jobs)
        steps.append(
            {
                "shard": n,
                "sizes": [z for z in sizes if z not in plan.sizes],
                "jobs": len(jobs),
                "flops": plan.cost(jobs),
                "pi_after": after(new_cov)[1].tolist(),
            }
        )
        plan.shards.append(n)
        plan.sizes += [z for z in sizes if z not in plan.sizes]
        cov, candidates = new_cov, [c for c in candidates if c[0] != n]
    ci1, pi1 = after(cov)
    return {
        "target_n": float(target_n),
        "prediction": pred,
        "law": curve.name,
        "inside_data": target_n <= curve.n_max,
        "now": {"ci": ci.tolist(), "pi": pi.tolist()},
        "after": {"ci": ci1.tolist(), "pi": pi1.tolist()},
        "pi_floor": (pred * np.exp([-noise[0], noise[1]])).tolist(),
        "shards": sorted(plan.shards),
        "sizes": sorted(plan.sizes),
        "steps": steps,
        "flops": spent if ctx.knob is not None else None,
        "round_limit": float(limit) if ctx.knob is not None else None,
        "hours": [
            {"device": t.device, "gpu": t.device == "cuda", "value": float(t.hours(spent))} for t in ctx.throughput
        ]
        if ctx.knob is not None
        else [],
    }
