"""A fitted law that reports itself, after lmfit's ModelResult.

`FitResult` carries everything about one law fitted to one data set: the law with its estimate,
each parameter with its 95% CI, the bootstrap replicates and the noise model they were drawn
with, the correlations, the backtest, the warnings and the data. It evaluates itself
(`predict(x)`: the mean curve's CI and a new run's PI at any x, inside or beyond the data),
prints itself (`summary()`), and round-trips exactly through JSON (`to_json()`/`from_json()`):
fits.json is its serialisation. A law that could not be fitted is a `NotFitted`, which says why.

One curve's results together are curves.py's `CurveFits`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import UserError
from .grid import EXTRAPOLATE, per_line, plot_grid
from .intervals import intervals
from .laws import LAWS, Law, make_law
from .uncertainty import Noise

PREDICT_VERSION = 1  # of the `predict` block; `scalinglaws predict` refuses other versions
# the keys of a fitted entry in fits.json, in order; a law's extras (regions, ...) follow `derived`
HEAD, BODY = (
    ("law", "formula", "inputs", "params", "derived"),
    (
        "goodness",
        "warnings",
        "notes",
        "bootstrap",
        "weights",
        "correlations",
        "plot",
        "backtest",
        "holdout",
        "data",
        "summary",
        "predict",
        "band",
    ),
)
BAND = ("x", "fit", "lo", "hi", "pi_lo", "pi_hi", "data_max")  # the 1-input plot under its older name


class PredictError(UserError):
    """The prediction cannot be made as asked; the message names the file, law, group or value."""


@dataclass
class Estimate:
    """A fitted number with its 95% CI; a parameter also says whether it was fixed and the
    bounds of its search box (None for a derived quantity)."""

    value: float | None
    ci95: list | None
    fixed: bool | None = None
    bounds: list | None = None

    def to_json(self) -> dict:
        out = {"value": self.value, "ci95": self.ci95}
        if self.fixed is not None:
            out.update(fixed=self.fixed, bounds=self.bounds)
        return out

    @classmethod
    def from_json(cls, d: dict) -> "Estimate":
        return cls(d["value"], d.get("ci95"), d.get("fixed"), d.get("bounds"))


@dataclass
class FitResult:
    """One fitted law with everything known about its fit (see the module docstring)."""

    name: str
    formula: str
    inputs: list[str]
    params: dict[str, Estimate]
    derived: dict[str, Estimate]
    extras: dict  # law-specific results: power's regions, chinchilla's compute-optimal allocation
    goodness: dict
    warnings: list[str]  # what the fit's intervals do not carry (laws/base.py)
    notes: list[str]  # what the data do not pin down, which the intervals carry (fit/identify.py)
    bootstrap: dict  # how the replicates were drawn: count, failures, what was resampled, seed
    weights: dict | None
    correlations: dict | None
    plot: dict  # the figure's grid with the fit, its CI band and PI (fit/grid.py)
    backtest: dict
    holdout: dict | None
    data: dict  # x, y and the hold-out flags of the points
    law_summary: str
    law: Law | None = None  # the estimator with its estimate (None: written by another version)
    samples: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # bootstrap replicates x parameters
    noise: Noise = field(default_factory=Noise)
    seed: int = 0
    stored: dict | None = None  # a `predict` block this version cannot read, kept as it was

    fitted = True

    # -- reading ------------------------------------------------------------------------------
    @property
    def x(self) -> np.ndarray:
        """The points' inputs, one row per point (held-out rows included)."""
        return np.asarray(self.data["x"], float).reshape(-1, len(self.inputs))

    @property
    def y(self) -> np.ndarray:
        return np.asarray(self.data["y"], float)

    @property
    def held_out(self) -> np.ndarray:
        flags = self.data.get("holdout")
        return np.zeros(len(self.y), bool) if flags is None else np.asarray(flags, bool)

    @property
    def axis(self) -> int:
        """The input along which the law's backtests cut and its figures draw."""
        return LAWS[self.name].axis

    @property
    def data_max(self) -> float:
        """The largest measured value along the law's axis."""
        return float(self.x[:, self.axis].max())

    @property
    def regions(self) -> dict:
        """The learning curve's regions (power), else {}."""
        return self.extras.get("regions") or {}

    @property
    def fit_start(self) -> float | None:
        """The first fitted shard when the small-data region was left out of the fit, else None."""
        return self.regions.get("power_law_start") if self.regions.get("small_data_n") else None

    def value(self, name: str) -> float:
        return self.params[name].value

    def ci(self, name: str) -> list | None:
        return self.params[name].ci95

    def free(self) -> list[str]:
        return [p for p, e in self.params.items() if not e.fixed]

    def unresolved(self) -> str | None:
        """Why this fit says nothing that a plan or a summary may build on (the law's own
        judgement, laws/base.py: the best-size law when its growth is not measured), or None."""
        values = {p: e.value for p, e in self.params.items()}
        return LAWS[self.name].unresolved(values, {p: e.ci95 for p, e in self.params.items()}, self.backtest)

    def all_warnings(self) -> list[str]:
        """The law's warnings and its backtest's, as `backtest: ...`."""
        return self.warnings + ([f"backtest: {self.backtest['warning']}"] if "warning" in self.backtest else [])

    def summary(self) -> str:
        """What `scalinglaws fit` prints for the law: its table, its backtest and held-out score."""
        lines = [self.law_summary]
        bt, held = self.backtest, self.holdout or {}
        if "mean_rel_error" in bt:
            lines.append(f"  backtest ({bt['how']}): mean relative error {100 * bt['mean_rel_error']:.2f}%")
        if "warning" in bt:
            lines.append(f"  warning: backtest: {bt['warning']}")
        if "mean_rel_error" in held:
            lines.append(f"  held-out rows ({held['points']}): mean relative error {100 * held['mean_rel_error']:.2f}%")
        return "\n".join(lines)

    # -- evaluating ---------------------------------------------------------------------------
    def can_predict(self) -> bool:
        return self.law is not None

    def predict(self, x) -> dict[str, np.ndarray | None]:
        """At the rows of x (the law's inputs): prediction, ci_low/ci_high (the mean curve's 95%
        CI) and pi_low/pi_high (the 95% prediction interval of one new run)."""
        if self.law is None:
            raise PredictError(
                f"law {self.name!r} has no 'predict' block of version {PREDICT_VERSION}: "
                "it was written by an incompatible version of scalinglaws; fit it again with this version"
            )
        return intervals(self.law, self.samples, self.noise, x, self.seed)

    def replicates(self) -> list[dict]:
        """Each bootstrap replicate's parameters, by name."""
        return [dict(zip(self.law.param_names, s)) for s in self.samples]

    def redraw(self, extrapolate: float = EXTRAPOLATE, start: float | None = None) -> dict:
        """The plot description recomputed out to `extrapolate` x the largest x (the stored one
        when the law cannot be evaluated), from `start` on its axis when given (power's first
        fitted shard: the curve is not drawn through the small-data points it left out)."""
        if self.law is None:
            return self.plot
        x = self.x
        if start is not None and (x[:, self.axis] >= start).any():
            x = x[x[:, self.axis] >= start]
        return plot_with_intervals(self.law, x, self.samples, self.noise, self.seed, extrapolate)

    # -- JSON ---------------------------------------------------------------------------------
    def to_json(self) -> dict:
        """The entry of fits.json; from_json(to_json()) gives the same result."""
        out = {
            "law": self.name,
            "formula": self.formula,
            "inputs": list(self.inputs),
            "params": {p: e.to_json() for p, e in self.params.items()},
            "derived": {p: e.to_json() for p, e in self.derived.items()},
            **self.extras,
            "goodness": self.goodness,
            "warnings": self.warnings,
            "notes": self.notes,
            "bootstrap": self.bootstrap,
            "weights": self.weights,
            "correlations": self.correlations,
            "plot": self.plot,
            "backtest": self.backtest,
            **({} if self.holdout is None else {"holdout": self.holdout}),
            "data": self.data,
            "summary": self.law_summary,
            "predict": self._predict_block(),
        }
        if self.plot.get("kind") == "curve":
            out["band"] = {k: self.plot[k] for k in BAND}
        return out

    def _predict_block(self) -> dict | None:
        if self.law is None:
            return self.stored
        return {
            "version": PREDICT_VERSION,
            "options": self.law.options(),
            "params": self.law.params_,
            "samples": self.samples.tolist(),
            "noise": self.noise.to_json(),
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, d: dict) -> "FitResult | NotFitted":
        if "params" not in d:
            return NotFitted.from_json(d)
        block = d.get("predict")
        law, samples, noise, seed = None, np.empty((0, len(d["params"]))), Noise(), 0
        if block and block.get("version") == PREDICT_VERSION:
            law = make_law(d["law"], **block["options"])
            law.params_ = block["params"]
            samples = np.asarray(block["samples"], float).reshape(-1, len(law.param_names))
            noise, seed = Noise.from_json(block["noise"]), block["seed"]
        return cls(
            name=d["law"],
            formula=d["formula"],
            inputs=list(d["inputs"]),
            params={p: Estimate.from_json(e) for p, e in d["params"].items()},
            derived={p: Estimate.from_json(e) for p, e in d.get("derived", {}).items()},
            extras={k: v for k, v in d.items() if k not in HEAD + BODY},
            goodness=d["goodness"],
            warnings=list(d.get("warnings", [])),
            notes=list(d.get("notes", [])),
            bootstrap=d.get("bootstrap"),
            weights=d.get("weights"),
            correlations=d.get("correlations"),
            plot=d.get("plot", {}),
            backtest=d.get("backtest", {}),
            holdout=d.get("holdout"),
            data=d["data"],
            law_summary=d.get("summary", ""),
            law=law,
            samples=samples,
            noise=noise,
            seed=seed,
            stored=None if law is not None else block,
        )


@dataclass
class NotFitted:
    """A law that was not fitted, and why (an error, or left out by --law auto)."""

    name: str
    reason: str
    skipped: bool = False  # left out on purpose (--law auto), not a failure
    record: dict | None = None  # the entry as written (with formula, inputs, data where known)

    fitted = False

    def summary(self) -> str:
        return f"{self.name}: not fitted: {self.reason}"

    def to_json(self) -> dict:
        if self.record is not None:
            return dict(self.record)
        return {"law": self.name, ("skipped" if self.skipped else "error"): self.reason}

    @classmethod
    def from_json(cls, d: dict) -> "NotFitted":
        skipped = "skipped" in d and "error" not in d
        return cls(d["law"], d["skipped"] if skipped else d.get("error", "not fitted"), skipped, dict(d))


def plot_with_intervals(
    law: Law, x: np.ndarray, samples: np.ndarray, noise: Noise, seed: int, extrapolate: float = EXTRAPOLATE
) -> dict:
    """The figure's description with, on its grid, the fit, the 95% band of the mean curve
    (lo, hi) and the 95% prediction interval of a new run (pi_lo, pi_hi), from the bootstrap
    `samples` of the parameters."""
    at, plot = plot_grid(law, x, extrapolate)
    iv = intervals(law, samples, noise, at, seed)
    keys = {"fit": "prediction", "lo": "ci_low", "hi": "ci_high", "pi_lo": "pi_low", "pi_hi": "pi_high"}
    return {**plot, **{k: per_line(plot, iv[v]) for k, v in keys.items()}}


def as_result(entry) -> FitResult | NotFitted:
    """A fit entry of fits.json as a result, or as given when it is one already."""
    return entry if isinstance(entry, (FitResult, NotFitted)) else FitResult.from_json(entry)
