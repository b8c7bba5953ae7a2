"""What every scaling law shares: input checks, the estimator, its role, honest warnings.

A law is a small scikit-learn-style estimator: `fit(x, y)` then `predict(x)`. After a fit,
`params_` holds the named estimates, `bounds_` the box they were searched in, `ci_` (filled by
the bootstrap) their confidence intervals, `warnings_` what the fit's intervals do not carry (a
law that does not describe the data, a fit that interpolates, an estimate held by a bound that
is no limit of the law), and `notes_` what the data do not pin down but the intervals do carry:
an estimate at a bound where the law becomes a simpler one (`nested_bounds`: a floor of 0, no
bend), which the bootstrap's intervals include as a possibility.
The law is the model (lmfit's Model): its function, gradient, bounds, starts and residuals; the
optimiser that fits it (multi-start bounded least squares, bound widening) is minimizer.py.
A law also declares its role, which the rest of the package reads through the registry
(__init__.py) instead of naming laws: what it is fitted to (`role`), the priors its options
take (`priors`), whether `--law auto` considers it (`auto`), whether a study fits it by default
(`default`), and, where a plan can read it (`plannable`), its floor and its best size at n.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
from scipy.stats import spearmanr

from . import minimizer
from .minimizer import MAX_WIDEN, FitError, quiet, single_threaded

__all__ = ["FitError", "GivenEps0", "Law", "Prior", "Role", "as_inputs", "quiet", "single_threaded"]


class Role(Enum):
    """What a law is fitted to."""

    CURVE = "the learning curve eps(n): the error at the best size, per shard"
    SIZE = "the best model size s(n), per shard"
    JOINT = "the error surface eps(m, n): every (model size, shard) at its best learning rate"
    PRUNING = "the error of pruned networks against their density"


class Prior(Enum):
    """What a constructor option is filled from, where the user or the study knows it."""

    EPS0 = "the error at the start (random guessing), held fixed instead of fitted"
    BEST_GUESS = "the best-guess error, which anchors the small-data region"
    STARTS = "how many grid starts the optimiser runs from"


def as_inputs(x, n_inputs: int) -> np.ndarray:
    """x as a float array of shape (points, n_inputs); a 1-D x is one input."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 1 and n_inputs == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != n_inputs:
        raise FitError(f"expected {n_inputs} input column(s), got an array of shape {x.shape}")
    return x


class Law:
    """Base class. A subclass sets the class attributes (its role among them) and implements
    `_f`, `_bounds` and `_starts` (and `_grad` where it can); the default objective is the
    squared error of log(y), minimised by minimizer.py unless the law overrides `_fit`."""

    name = "law"
    formula = ""
    param_names: tuple[str, ...] = ()
    x_names: tuple[str, ...] = ("n",)
    log_params: frozenset[str] = frozenset()  # optimised as log(value)
    decreasing = True  # an error that should fall along `axis`
    axis = 0  # the input along which backtests cut and figures draw
    bound_notes: dict[tuple[str, str], str] = {}  # (param, "lower"/"upper") -> what it means
    widenable: frozenset[tuple[str, str]] = frozenset()  # bounds of convenience, pushed out if they bind
    # bounds where the law becomes a simpler law (a floor of 0, no bend): an estimate there says the
    # simpler law fits, which the intervals carry (a note); at any other bound the law is held by
    # its box or by the data's range, which the intervals do not carry (a warning)
    nested_bounds: frozenset[tuple[str, str]] = frozenset()
    weighable = True  # the objective is the base one, so points can be weighed by their errors (weigh())
    # the law this one is with some of its parameters held (power-pure: power with gamma = 0): it
    # enters the combination only where that law cannot be backtested (fit/combine.py)
    restricts: str | None = None
    # `_f` and `_grad` also take every parameter as an array of shape (rows, 1), one row per
    # bootstrap replicate, so that the replicates are refitted as one batch (batched.py)
    batched = False
    # -- its role, read through the registry (__init__.py) -----------------------------------
    role = Role.CURVE  # what it is fitted to
    priors: dict[str, Prior] = {}  # constructor option -> the prior that fills it, where known
    auto = False  # `--law auto` considers it (among the laws that take as many inputs)
    default = False  # a study fits it unless its config names the laws
    plannable = False  # a plan can read it: floor(), error_at_best() and best_size() (or its size_law's)
    size_law: type[Law] | None = None  # the law of the best sizes that gives this one's best size

    def __init__(self):
        self.fixed: dict[str, float] = {}  # parameters held at a given value, not fitted
        self.params_: dict[str, float] | None = None
        self.bounds_: dict[str, tuple[float, float]] = {}
        self.warnings_: list[str] = []
        self.notes_: list[str] = []
        self.ci_: dict[str, list[float] | None] = {}
        self.n_points_ = 0
        self.widen_: dict[tuple[str, str], int] = {}  # (param, side) -> times that bound was widened
        self.point_sd: dict[tuple, float] | None = None  # x row -> standard error of its point (weigh())
        self.seed_sd: dict[tuple, float] | None = None  # x row -> the part of it from the point's seeds
        self.shared_var = 0.0  # the variance every point has beyond its seeds' (weights.py)

    # -- what a subclass provides ---------------------------------------------------------
    def _f(self, x: np.ndarray, p: dict) -> np.ndarray:
        raise NotImplementedError

    def _bounds(self, x: np.ndarray, y: np.ndarray) -> dict[str, tuple[float, float]]:
        raise NotImplementedError

    def _starts(self, x: np.ndarray, y: np.ndarray) -> list[dict]:
        raise NotImplementedError

    def _residuals(self, pred: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(pred) - np.log(y)

    def _residual_scale(self, pred: np.ndarray, y: np.ndarray) -> np.ndarray:
        """d residual / d pred (for the analytic Jacobian): 1/pred for log residuals."""
        return 1.0 / pred

    _grad = None  # optional: (x, params) -> {param: d pred / d param}, an analytic Jacobian

    def options(self) -> dict:
        """Constructor arguments, so that `clone()` builds the same estimator unfitted."""
        return {}

    # -- the estimator ----------------------------------------------------------------------
    @property
    def free(self) -> list[str]:
        return [p for p in self.param_names if p not in self.fixed]

    def clone(self) -> "Law":
        law = type(self)(**self.options())
        law.point_sd, law.seed_sd, law.shared_var = self.point_sd, self.seed_sd, self.shared_var
        return law

    def weigh(self, x, sd, shared_var: float = 0.0) -> "Law":
        """Weigh each point's residual by its standard error: `sd` from its seeds (on the scale of
        the residuals: relative for log residuals) and `shared_var` beyond them, or by none if sd
        is None. The errors belong to the points (x rows), so a fit to any subset of them, a
        backtest or a region decision weighs them alike; an x without one gets the typical
        error (their geometric mean)."""
        if sd is None or not self.weighable:
            self.point_sd = self.seed_sd = None
            return self
        keys = [tuple(map(float, row)) for row in as_inputs(x, len(self.x_names))]
        sd = np.asarray(sd, float)
        self.seed_sd, self.shared_var = dict(zip(keys, sd.tolist())), float(shared_var)
        self.point_sd = dict(zip(keys, np.sqrt(sd**2 + shared_var).tolist()))
        return self

    def point_errors(self, x: np.ndarray, relative: bool = True, seeds_only: bool = False) -> np.ndarray | None:
        """The standard error of each row of x (None: unweighted), or its seeds' part; relative=True
        divides them by their typical value, so that weighted residuals keep the scale of
        unweighted ones."""
        table = self.seed_sd if seeds_only else self.point_sd
        if not table:
            return None
        typical = float(np.exp(np.mean(np.log(list(table.values())))))
        sd = np.array([table.get(tuple(map(float, row)), typical) for row in x])
        return sd / typical if relative else sd

    def fit(self, x, y, init: "Law | None" = None) -> "Law":
        """Fit to points (x, y); `init`, a fitted law, makes it one warm start from its estimate.
        A widenable bound that binds is pushed out and the fit redone (minimizer.widening_fit)."""
        x, y = self.check_data(x, y)
        self.n_points_ = len(y)  # points the fit used (a law may use fewer)
        with single_threaded(), quiet():
            minimizer.widening_fit(self, x, y, init)
            bounds = self._bound_warnings()
            self.warnings_ = self._data_warnings(x, y) + [w for nested, w in bounds if not nested]
            self.warnings_ += self._fit_warnings(x, y)
            self.notes_ = [w for nested, w in bounds if nested] + self._fit_notes(x, y)
        return self

    def refit(self, x, y, sd=None) -> "Law":
        """A cheap refit for resampling: a clone, warm-started from this fit on its (possibly
        widened) box, without warnings. `sd`: the replicate's own seed errors of its points, if
        the law weighs them (with this fit's shared variance); else this fit's weights."""
        law, x, y = self.refit_problem(x, y, sd)
        with single_threaded(), quiet():
            minimizer.guarded_fit(law, x, y, self)
        return law

    def refit_problem(self, x, y, sd=None) -> tuple["Law", np.ndarray, np.ndarray]:
        """What a refit solves: an unfitted clone on this fit's (possibly widened) box, weighed
        as `refit` says, and the checked points (x, y). A FitError if the points are refused."""
        law = self.clone()
        if sd is not None and self.point_sd is not None:
            law.weigh(x, sd, self.shared_var)
        law.widen_ = dict(self.widen_)
        x, y = law.check_data(x, y)
        return law, x, y

    def refits_batched(self) -> bool:
        """Whether bootstrap refits can run as one batch: `_f` and `_grad` take parameter rows
        and the fit is minimizer.py's least squares (a law with its own optimiser refits alone)."""
        return self.batched and self._grad is not None and type(self)._fit is Law._fit

    def _fit(self, x: np.ndarray, y: np.ndarray, init: "Law | None") -> None:
        """The optimiser: multi-start bounded least squares (a law with its own overrides this)."""
        minimizer.least_squares_fit(self, x, y, init)

    def fitted_rows(self, x: np.ndarray) -> np.ndarray:
        """Which rows of x the fit used (a law with regions leaves some out)."""
        return np.ones(len(x), bool)

    def predict(self, x) -> np.ndarray:
        if self.params_ is None:
            raise RuntimeError(f"{self.name}: call fit() before predict()")
        x = as_inputs(np.atleast_1d(np.asarray(x, dtype=float)), len(self.x_names))
        with quiet():
            return self._f(x, self.params_)

    def check_data(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Finite points only; refuse too few points or non-positive values (logs are taken)."""
        x = as_inputs(x, len(self.x_names))
        y = np.asarray(y, dtype=float).ravel()
        if len(y) != len(x):
            raise FitError(f"{len(x)} x values but {len(y)} y values")
        keep = np.isfinite(x).all(axis=1) & np.isfinite(y)
        x, y = x[keep], y[keep]
        if len(y) < len(self.free):
            raise FitError(f"need at least {len(self.free)} finite points, got {len(y)}")
        if (x <= 0).any() or (y <= 0).any():
            raise FitError("x and y must be positive (logs are taken)")
        if self.decreasing and np.ptp(y) <= 1e-12 * y.max():
            raise FitError(f"y is constant ({y[0]:.6g}): there is no curve to fit")
        return x, y

    # -- honesty ----------------------------------------------------------------------------
    def _data_warnings(self, x: np.ndarray, y: np.ndarray) -> list[str]:
        out = []
        k = len(self.free)
        if len(y) < k + 2:
            out.append(
                f"only {len(y)} points for {k} parameters: the fit (almost) interpolates; its CIs are unreliable"
            )
        if self.decreasing and len(np.unique(x[:, self.axis])) >= 3:
            rho = spearmanr(x[:, self.axis], y).statistic
            if not rho < 0:
                out.append(
                    f"the data do not decrease with {self.x_names[self.axis]} (Spearman rho = {rho:+.2f}): "
                    "a falling law does not describe them"
                )
        return out

    def _bound_warnings(self) -> list[tuple[bool, str]]:
        """(whether the bound is one where the law becomes a simpler law, what it means) for
        every estimate at a bound of its box."""
        out = []
        for p, side in minimizer.binding(self):
            v, b = self.params_[p], self.bounds_[p][0 if side == "lower" else 1]
            if (p, side) in self.widenable:
                note = f"not identified: still at its bound after widening the box {MAX_WIDEN} times"
            else:
                note = self.bound_notes.get((p, side), "the data do not pin it down")
            out.append(((p, side) in self.nested_bounds, f"{p} = {v:.4g} is at its {side} bound ({b:.4g}): {note}"))
        return out

    def _fit_warnings(self, x: np.ndarray, y: np.ndarray) -> list[str]:
        """What the fit's intervals do not carry, beyond the data's and the bounds' checks."""
        return []

    def _fit_notes(self, x: np.ndarray, y: np.ndarray) -> list[str]:
        """What the data do not pin down but the intervals carry, beyond the bounds' notes."""
        return []

    # -- its role ---------------------------------------------------------------------------
    @classmethod
    def prior_options(cls, known: dict[Prior, object]) -> dict:
        """The constructor options this law takes from `known` priors (None: not known)."""
        return {option: known[prior] for option, prior in cls.priors.items() if known.get(prior) is not None}

    @classmethod
    def seed_noise_options(cls, options: dict, point_var: float) -> dict:
        """`options` with the points' seed variance (of log error) added where the law uses it."""
        return options

    def floor(self, params: dict) -> float:
        """The irreducible error: what the law approaches with unlimited data (and model size)."""
        raise NotImplementedError(f"{self.name}: not a law a plan can read")

    def error_at_best(self, n, params: dict, tol: float) -> np.ndarray:
        """The error at n of a model of the best size (the smallest within `tol` of the best):
        a learning curve (one input, n) is that error already (tol is the size law's)."""
        if self.role is not Role.CURVE or len(self.x_names) != 1:
            raise NotImplementedError(f"{self.name}: not a law a plan can read")
        n = np.asarray(n, float)
        return self._f(n.reshape(-1, 1), params).reshape(n.shape)

    def best_size(self, n, params: dict, tol: float) -> np.ndarray:
        """The best model size at n (the smallest within `tol` of the best)."""
        raise NotImplementedError(f"{self.name}: gives no best size (see size_law)")

    # -- reporting --------------------------------------------------------------------------
    def goodness(self, x, y) -> dict:
        """R^2 and RMSE of log(y), and the mean absolute relative error of the prediction."""
        x, y = self.check_data(x, y)
        pred = self.predict(x)
        with quiet():
            res = np.log(pred) - np.log(y)
        ss_tot = float(((np.log(y) - np.log(y).mean()) ** 2).sum())
        return {
            "r2_log": 1.0 - float((res**2).sum()) / ss_tot if ss_tot > 0 else float("nan"),
            "rmse_log": float(np.sqrt(np.mean(res**2))),
            "mean_rel_error": float(np.mean(np.abs(pred - y) / y)),
            "points": int(len(y)),
        }

    def derived(self, params: dict) -> dict[str, float]:
        """Quantities computed from the parameters (for their CIs the bootstrap applies this to
        every replicate), e.g. where a region ends or a compute-optimal exponent."""
        return {}

    def extras(self) -> dict:
        """Law-specific results for the report (regions, compute-optimal allocation, ...)."""
        return {}

    @classmethod
    def unresolved(cls, params: dict, ci: dict, backtest: dict) -> str | None:
        """Why a fit of this law, though it ran, says nothing that a plan or a summary may build
        on (its values, 95% CIs and backtest given), or None: by default it does."""
        return None

    def summary(self) -> str:
        """A printable table: formula, each parameter with its CI and bounds, then warnings."""
        if self.params_ is None:
            return f"{self.name}: {self.formula} (not fitted)"
        lines = [f"{self.name}: {self.formula}   ({self.n_points_} points)"]
        for p in self.param_names:
            ci = self.ci_.get(p)
            ci_txt = f"[{ci[0]:.4g}, {ci[1]:.4g}]" if ci else ""
            if p in self.fixed:
                ci_txt = "(fixed)"
            lines.append(f"  {p:>8} = {self.params_[p]:<12.5g} {ci_txt}")
        lines += [f"  {line}" for line in self._summary_extras()]
        lines += [f"  warning: {w}" for w in self.warnings_]
        lines += [f"  note: {w}" for w in self.notes_]
        return "\n".join(lines)

    def _summary_extras(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"


class GivenEps0:
    """Mixed into a law with a parameter eps0, the error at the start (random guessing: 1 -
    1/classes, or the target variance): fitted unless the user gives it (`--eps0`)."""

    priors = {"eps0": Prior.EPS0}

    def __init__(self, eps0: float | None = None):
        super().__init__()
        self.eps0 = eps0
        if eps0 is not None:
            self.fixed = {"eps0": float(eps0)}

    def options(self) -> dict:
        return {"eps0": self.eps0}
