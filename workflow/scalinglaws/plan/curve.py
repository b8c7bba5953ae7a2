"""One learning curve's fitted laws as bootstrap samples: the error a model trained on n examples
reaches at its best size, and that best size, once per stored replicate, so that every planned
quantity gets its interval from the same uncertainty as `scalinglaws predict` (fit/intervals.py).

A curve is read through a law that declares itself `plannable` (laws/base.py), in one of two ways:
- a learning-curve law (power) with its `size_law` (size): eps(n) from the curve's law; the best
  size s(n) = k n^beta_p from the size law (its replicate i is paired with the curve law's
  replicate i: both were refitted to the same resampled seeds; if either lost replicates, they
  are paired at random instead). When the size law's growth is not measured (its own checks,
  `unresolved`: an exponent whose CI reaches 0, a backtest off by more than 10x), the best size
  is taken not to change: the measured best sizes, with their spread (`size_note` says so);
- a joint law eps(m, n) (joint, joint-additive): the best size at n is the smallest m whose
  error is within the study's size tolerance of an infinitely large model's, the study's own
  definition of the best size (README), so the error there is (1 + tol) eps(inf, n).
The maths is the law's own (its floor, error_at_best and best_size); this module pairs the
replicates and reads them.

By default a curve whose learning-curve laws were combined (fit/combine.py) is read through the
combination, as `scalinglaws predict` reads it (`CombinedCurve`): the error at n and its CI and
PI are the mixture's, exactly predict's; a quantity solved per replicate (the n that reaches a
target, the floor) pools the laws' bootstrap replicates in proportion to their stacking weights,
each solved with its own law's maths (its floor, its error at n), and its estimate is solved on
the combined prediction (the weighted geometric mean of the laws', whose floor is the weighted
geometric mean of their floors); the best size is the size law's, paired with each pooled
replicate by its index as with one law. `--law NAME` reads one law.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..aggregate.selection import SIZE_TOLERANCE
from ..errors import UserError
from ..fit.curves import as_curves
from ..fit.intervals import intervals
from ..fit.laws import LAWS, Role, plannable
from ..fit.laws.minimizer import quiet
from ..fit.mixture import Mixture
from ..fit.predict import default_prediction, fitted_law
from ..fit.result import FitResult
from ..fit.uncertainty import CI_LEVEL, derived_interval


class PlanError(UserError):
    """The plan cannot be made as asked; the message names the file, group, law or value."""


def interval(values) -> list[float | None] | None:
    """The 95% percentile interval of per-replicate values; an end at infinity (e.g. a target
    that some replicates never reach) stays open (None)."""
    return derived_interval(np.asarray(values, float).ravel())


class Curve:
    """A curve's laws, with per-replicate `error(n)` and `size(n)` (rows: replicates)."""

    note: str | None = None  # how the curve is read, where it is not one law

    def __init__(self, group: str, result: FitResult, size: FitResult | None, tol: float, seed: int = 0):
        self.group, self.name, self.tol = group, result.name, tol
        self.result = result
        self.law, self.samples, self.noise, self.seed = result.law, result.samples, result.noise, result.seed
        if len(self.samples) < 2:
            raise PlanError(f"group {group!r}: law {self.name!r} has no bootstrap samples; fit it with --bootstrap > 1")
        self.names = list(self.law.param_names)
        self.n_max = result.data_max
        self.n_min = float(result.x[:, result.axis].min())  # the smallest shard measured
        self.size_law = self.size_samples = self.size_note = None
        if size is not None:
            self._pair_size(size, [(len(self.samples), i) for i in range(len(self.samples))])

    def _pair_size(self, size: FitResult, replicates: list[tuple[int, int]]) -> None:
        """The size law's replicates lined up with the error's, given as (how many replicates
        its law has, which one it is): the size law's replicate of the same index (both were
        refitted to the same resampled seeds) where the two have as many, else one at random."""
        self.size_law, self.size_note = size.law, _flat_note(size)
        if self.size_note:  # its growth is not measured: the measured best sizes, with their spread
            self.size_law, self.size_samples = size.law.flat(size.y, len(replicates), self.seed)
            return
        picks = np.array([i for _, i in replicates], int)
        apart = np.array([count != len(size.samples) for count, _ in replicates], bool)
        picks[apart] = np.random.default_rng([self.seed, 17]).integers(0, len(size.samples), int(apart.sum()))
        self.size_samples = size.samples[picks]

    @property
    def joint(self) -> bool:
        """A law of (model size, n), whose best size at n is its own."""
        return self.law.role is Role.JOINT

    @property
    def has_size(self) -> bool:
        return self.joint or self.size_law is not None

    def replicates(self) -> list[dict]:
        return [dict(zip(self.names, s)) for s in self.samples]

    # -- per parameter set --------------------------------------------------------------------
    def error_at(self, n, p: dict) -> np.ndarray:
        """The error at n of a model of the best size, for parameters p."""
        return self.law.error_at_best(n, p, self.tol)

    def error_estimate(self, n) -> np.ndarray:
        """The estimate of the error at n of a model of the best size."""
        return self.error_at(n, self.law.params_)

    def size_at(self, n, p: dict, q: dict | None = None) -> np.ndarray:
        """The best size (parameters) at n, for error-law parameters p (and size-law q)."""
        if not self.joint:
            return self.size_law.best_size(n, q, self.tol)
        return self.law.best_size(n, p, self.tol)

    def floor_at(self, p: dict) -> float:
        """The irreducible error (the law's floor)."""
        return self.law.floor(p)

    # -- over replicates ----------------------------------------------------------------------
    def errors(self, n) -> np.ndarray:
        """(replicates, len(n)): each replicate's error at the best size."""
        return np.array([self.error_at(n, p) for p in self.replicates()])

    def size_replicates(self) -> list[dict | None]:
        """Each replicate's size-law parameters (None for a joint law, whose size is its own)."""
        if self.joint:
            return [None] * len(self.samples)
        return [dict(zip(self.size_law.param_names, s)) for s in self.size_samples]

    def sizes(self, n) -> np.ndarray | None:
        """(replicates, len(n)): each replicate's best size in parameters (None: no size law)."""
        if not self.has_size:
            return None
        return np.array([self.size_at(n, p, q) for p, q in zip(self.replicates(), self.size_replicates())])

    def sizes_each(self, n_reps) -> np.ndarray:
        """Each replicate's best size at its own n (inf where that n is)."""
        return np.array(
            [
                float(self.size_at(n, p, q)) if np.isfinite(n) else np.inf
                for n, p, q in zip(n_reps, self.replicates(), self.size_replicates())
            ]
        )

    def size_estimate(self, n) -> np.ndarray | None:
        if not self.has_size:
            return None
        return self.size_at(n, self.law.params_, None if self.joint else self.size_law.params_)

    def floor(self) -> tuple[float, list[float | None] | None]:
        """The irreducible error's estimate and 95% CI."""
        return self.floor_at(self.law.params_), interval([self.floor_at(p) for p in self.replicates()])

    def points(self, n) -> np.ndarray:
        """The law's input rows for a model of the (estimated) best size trained on n."""
        n = np.atleast_1d(np.asarray(n, float))
        if not self.joint:
            return n[:, None]
        rows = np.empty((len(n), 2))
        rows[:, self.law.axis], rows[:, 1 - self.law.axis] = n, self.size_estimate(n)
        return rows

    def predict(self, n) -> dict[str, np.ndarray | None]:
        """The error at n (best size) with the CI of the mean curve and the PI of one new run."""
        return intervals(self.law, self.samples, self.noise, self.points(n), self.seed, CI_LEVEL)


def _flat_note(size: FitResult) -> str | None:
    """Why the curve's sizes come from the measured best sizes rather than the size law, or None."""
    why = size.unresolved()
    if why is None:
        return None
    low, high = float(np.min(size.y)), float(np.max(size.y))
    return (
        f"the best size does not change measurably over this range of n ({why}): sizes are the measured "
        f"best sizes, {low:.4g} to {high:.4g} parameters (their median, and their spread as the interval)"
    )


class CombinedCurve(Curve):
    """A curve read through its learning-curve laws combined by their stacking weights (see the
    module's docstring). A replicate is a (law, parameters) pair; `law`, `samples` and `noise`
    are those of the law with the largest weight, whose parameter covariance `--next` reads to
    judge how much new shards narrow the interval (propose.py)."""

    def __init__(self, group: str, mixture: Mixture, size: FitResult | None, tol: float):
        self.mixture, self.weights = mixture, mixture.weights
        lead = max(self.weights, key=self.weights.get)
        super().__init__(group, mixture.results[lead], None, tol, mixture.seed)
        self.name = mixture.name
        for name, r in mixture.results.items():
            if len(r.samples) < 2:
                raise PlanError(f"group {group!r}: law {name!r} has no bootstrap samples; fit it with --bootstrap > 1")
        self.pool = _pooled(mixture.results, self.weights)
        if size is not None:
            self._pair_size(size, [(len(mixture.results[name].samples), i) for name, i in self.pool])

    def replicates(self) -> list[tuple]:
        out = []
        for name, i in self.pool:
            r = self.mixture.results[name]
            out.append((r.law, dict(zip(r.law.param_names, r.samples[i]))))
        return out

    def error_at(self, n, p: tuple) -> np.ndarray:
        return p[0].error_at_best(n, p[1], self.tol)

    def floor_at(self, p: tuple) -> float:
        return p[0].floor(p[1])

    def _geometric(self, values: dict) -> np.ndarray:
        """The weighted geometric mean of the laws' values (0 where one of them is 0)."""
        with quiet():
            return np.exp(sum(w * np.log(np.asarray(values[n], float)) for n, w in self.weights.items()))

    def error_estimate(self, n) -> np.ndarray:
        """The combined prediction at n: the weighted geometric mean of the laws' (as predict's)."""
        results = self.mixture.results
        return self._geometric({k: r.law.error_at_best(n, r.law.params_, self.tol) for k, r in results.items()})

    def floor(self) -> tuple[float, list[float | None] | None]:
        """The combined prediction's limit (the weighted geometric mean of the laws' floors) and
        the 95% CI of the pooled replicates' floors."""
        estimate = self._geometric({k: r.law.floor(r.law.params_) for k, r in self.mixture.results.items()})
        return float(estimate), interval([self.floor_at(p) for p in self.replicates()])

    def predict(self, n) -> dict[str, np.ndarray | None]:
        """The combined prediction at n with its CI and PI: predict's, to the digit."""
        return self.mixture.predict(self.points(n))

    @property
    def note(self) -> str:
        return (
            f"the error at n is the laws combined by their stacking weights ({self.name}), as `scalinglaws "
            "predict` gives it; the n that reaches a target and the irreducible error pool the laws' bootstrap "
            "replicates by weight, each solved with its own law; the best size is the size law's, paired as with "
            "one law; --law NAME reads one law"
        )


def _pooled(results: dict, weights: dict[str, float]) -> list[tuple[str, int]]:
    """(law, replicate index) of a pool as large as the largest law's replicates, each law's
    share its weight (largest remainder), its first replicates taken (they are exchangeable)."""
    total = max(len(r.samples) for r in results.values())
    names = list(weights)
    share = np.array([weights[n] for n in names]) * total
    counts = np.floor(share).astype(int)
    counts[np.argsort(counts - share)[: total - counts.sum()]] += 1
    return [(n, i % len(results[n].samples)) for n, c in zip(names, counts) for i in range(c)]


def load_curve(source: Path, fits: dict, group: str | None, law: str | None) -> Curve:
    """The curve of `group` (needed when the fits hold several) read through `law` (default:
    its learning-curve laws combined as predict combines them; without a combination, the first
    learning-curve law a plan can read, else the joint law)."""
    curves = as_curves(fits)
    groups = [g for g, c in curves.items() if c.has_laws]
    if group is None:
        if len(groups) != 1:
            raise PlanError(f"{source}: {len(groups)} curves ({', '.join(groups)}): choose one with --group")
        group = groups[0]
    if group not in groups:
        raise PlanError(f"{source}: no group {group!r} (groups: {', '.join(groups)})")
    fit = curves[group]
    fitted = [r.name for r in fit.fitted()]
    curve_laws, joint_laws = plannable(Role.CURVE), plannable(Role.JOINT)
    tol = fit.info.get("size_tolerance", SIZE_TOLERANCE)
    combined = default_prediction(fit, 1) if law is None else None
    if isinstance(combined, Mixture) and all(LAWS[n].plannable for n in combined.weights):
        return CombinedCurve(group, combined, _size_fit(source, fit, next(iter(combined.results))), tol)
    if combined is not None and combined.name in curve_laws:  # one law takes every weight
        law = combined.name
    if law is None:
        law = next((n for n in (*curve_laws, *joint_laws) if n in fitted), None)
        if law is None:
            raise PlanError(
                f"{source}: group {group!r} has no fitted {' or '.join(curve_laws)} or joint law "
                f"(fitted: {', '.join(fitted)})"
            )
    if law not in (*curve_laws, *joint_laws):
        sizes = {LAWS[n].size_law.name for n in curve_laws if LAWS[n].size_law}
        paired = f", with the best size of {', '.join(sorted(sizes))}" if sizes else ""
        raise PlanError(
            f"--law {law}: a plan reads a learning-curve law ({', '.join(curve_laws)}{paired}) or a joint law "
            f"({', '.join(joint_laws)})"
        )
    result = fitted_law(source, fit, law, len(LAWS[law].x_names))
    return Curve(group, result, _size_fit(source, fit, law), tol, result.seed)


def _size_fit(source: Path, fit, law: str) -> FitResult | None:
    """The fit of the law that gives `law`'s best size, where it was fitted."""
    size_law = LAWS[law].size_law
    if size_law is None or size_law.name not in [r.name for r in fit.fitted()]:
        return None
    return fitted_law(source, fit, size_law.name, len(size_law.x_names))
