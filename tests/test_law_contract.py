"""The contract every registered law keeps, checked over the registry (LAWS), so that a new law
is covered without editing this file: its analytic gradient matches finite differences, it
predicts the right shapes, its options round-trip, it recovers a curve of its own, and its fit
survives fits.json (to JSON and back) with identical predictions, and a learning-curve law a plan
reads gives its floor as its limit. The config schema's law lists
are held equal to the registry here, and a throwaway law shows what a new law costs.

Each law's data come from its role and number of inputs (DATA): a reference curve of that kind,
to which the law is fitted first; the estimate is then the truth of a synthetic curve drawn
from the law's own function with 0.5% noise, which the law must recover.
"""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from scalinglaws.errors import UserError
from scalinglaws.fit.entry import fit_law
from scalinglaws.fit.external import AUTO, TableSpec, fit_table
from scalinglaws.fit.laws import (
    LAWS,
    Law,
    Prior,
    Role,
    auto_laws,
    default_laws,
    make_law,
    options_for,
    study_laws,
)
from scalinglaws.fit.laws.minimizer import pack, unpack
from scalinglaws.fit.laws.pruning import _envelope
from scalinglaws.fit.result import FitResult
from scalinglaws.fit.uncertainty import Replicates
from scalinglaws.study import SCHEMA_PATH

NOISE = 0.005  # relative noise of the synthetic curves
STARTS = 20  # grid starts of a law that screens them (chinchilla's 4,500 would take seconds)


def _curve():
    n = np.geomspace(1e2, 1e5, 12)
    t = 3.0 * n**-0.4 + 0.02
    return n, 0.9 * t / np.sqrt(t * t + 0.81)  # a power law bent toward 0.9 at small n


def _sizes():
    n = np.geomspace(1e2, 1e5, 12)
    return n, 2.0 * n**0.5


def _surface():
    m, n = np.meshgrid(1e3 * 2.0 ** np.arange(4), 1e2 * 2.0 ** np.arange(6))
    x = np.column_stack([m.ravel(), n.ravel()])
    t = 4.0 * x[:, 1] ** -0.5 + 50.0 * x[:, 0] ** -0.6 + 0.01
    return x, 0.9 * t / np.sqrt(t * t + 0.81)  # bent toward 0.9 at small m and n


def _density():
    d = 0.7 ** np.arange(16)
    return d, _envelope(d, 0.03, 0.8, 0.02, 1.3)


def _family():
    d, rows = 0.6 ** np.arange(10), []
    for depth in (2, 4):
        for w in (8, 32, 128):
            rows += [[dd, w, depth, 0.4 * w**-0.5 + 0.01] for dd in d]
    x = np.array(rows)
    m = x[:, 2] ** 0.7 * x[:, 1] ** 1.2 * x[:, 0]
    return x, _envelope(m, x[:, 3], 0.6, 0.3, 1.5)


# (role, inputs) -> a reference data set of that kind; a law of a new kind adds its own here
DATA = {
    (Role.CURVE, 1): _curve,
    (Role.SIZE, 1): _sizes,
    (Role.JOINT, 2): _surface,
    (Role.PRUNING, 1): _density,
    (Role.PRUNING, 4): _family,
}


def new_law(cls: type[Law]) -> Law:
    """The law with the options a test affords (few grid starts where it screens them)."""
    return cls(**cls.prior_options({Prior.STARTS: STARTS}))


def data_for(cls: type[Law]) -> tuple[np.ndarray, np.ndarray]:
    key = (cls.role, len(cls.x_names))
    assert key in DATA, f"{cls.name}: no reference data for role {cls.role.name} with {key[1]} inputs (add to DATA)"
    x, y = DATA[key]()
    return np.asarray(x, float).reshape(len(y), -1), y


_TRUTH: dict[type, tuple] = {}


def truth_for(cls: type[Law]) -> tuple[Law, np.ndarray, np.ndarray]:
    """The law fitted to its reference data (its truth), those x, and a noisy curve drawn from it."""
    if cls not in _TRUTH:
        x, y = data_for(cls)
        truth = new_law(cls).fit(x, y)
        rng = np.random.default_rng(0)
        _TRUTH[cls] = (truth, x, truth.predict(x) * np.exp(NOISE * rng.standard_normal(len(y))))
    return _TRUTH[cls]


def inside(law: Law, params: dict) -> dict:
    """The parameters moved 2% of their box inward where they sit at (or beyond) a bound, so that
    a finite difference around them stays where the law is defined."""
    out = dict(params)
    for p in law.free:
        lo, hi = law.bounds_.get(p, (-np.inf, np.inf))
        if p in law.log_params:
            lo, hi = np.log(max(lo, 1e-300)), np.log(hi)
            v = np.log(out[p])
        else:
            v = out[p]
        if np.isfinite(lo) and np.isfinite(hi):
            v = float(np.clip(v, lo + 0.02 * (hi - lo), hi - 0.02 * (hi - lo)))
        out[p] = float(np.exp(v)) if p in law.log_params else v
    return out


# -- the contract, one check per function (the throwaway law below runs them too) ----------------
def check_gradient(cls):
    truth, x, _ = truth_for(cls)
    if truth._grad is None:
        return  # the optimiser differentiates it numerically
    p = inside(truth, truth.params_)
    analytic = truth._grad(x, p)
    for q in truth.free:
        h = 1e-6 * max(abs(p[q]), 1e-3)
        up, down = truth._f(x, {**p, q: p[q] + h}), truth._f(x, {**p, q: p[q] - h})
        numeric = (up - down) / (2 * h)
        rounding = 1e-11 * np.max(np.abs(truth._f(x, p))) / h  # of the difference quotient
        assert np.max(np.abs(analytic[q] - numeric)) <= 1e-5 * np.max(np.abs(numeric)) + rounding, (cls.name, q)


def check_shapes(cls):
    truth, x, _ = truth_for(cls)
    with pytest.raises(RuntimeError):
        new_law(cls).predict(x)
    assert truth.predict(x).shape == (len(x),)
    assert truth.predict(x[:1]).shape == (1,)
    if x.shape[1] == 1:  # one input: a scalar or a 1-D array will do
        assert truth.predict(x[0, 0]).shape == (1,)
        assert truth.predict(x[:, 0]).shape == (len(x),)
        np.testing.assert_array_equal(truth.predict(x[:, 0]), truth.predict(x))
    else:
        with pytest.raises(UserError):
            truth.predict(x[0])  # several inputs need one row per point
    assert np.all(np.isfinite(truth.predict(x)))


def check_options(cls):
    truth, x, _ = truth_for(cls)
    options = truth.options()
    assert json.loads(json.dumps(options)) == options  # fits.json stores them
    again = type(truth)(**options)
    assert again.options() == options and again.params_ is None
    clone = truth.clone()
    clone.params_ = dict(truth.params_)
    np.testing.assert_array_equal(clone.predict(x), truth.predict(x))


def standard_errors(law: Law, x: np.ndarray, params: dict) -> np.ndarray:
    """Each free parameter's standard error for a curve with NOISE relative noise, in the
    optimiser's coordinates (a log-scale parameter's logarithm): from the Jacobian of log f."""
    theta = pack(law, params)
    cols = []
    for i in range(len(theta)):
        step = np.zeros_like(theta)
        step[i] = 1e-5 * max(abs(theta[i]), 1.0)
        up, down = law._f(x, unpack(law, theta + step)), law._f(x, unpack(law, theta - step))
        cols.append((np.log(up) - np.log(down)) / (2 * step[i]))
    _, sv, vt = np.linalg.svd(np.column_stack(cols), full_matrices=False)
    with np.errstate(divide="ignore", invalid="ignore"):  # a direction the curve does not determine: infinite
        return NOISE * np.sqrt(np.nansum(vt**2 / sv[:, None] ** 2, axis=0))


def check_recovery(cls):
    truth, x, y = truth_for(cls)
    law = new_law(cls).fit(x, y)
    assert law.n_points_ == len(y)
    # its own curve comes back within the noise, and every parameter within a few of its
    # standard errors (a parameter the curve does not determine has a large one)
    error = np.abs(np.log(law.predict(x) / truth.predict(x)))
    assert error.max() < 3 * NOISE, (cls.name, error.max())
    off = np.abs(pack(law, law.params_) - pack(law, truth.params_))
    se = standard_errors(truth, x, truth.params_)
    for p, d, s in zip(law.free, off, se):
        assert d <= 6 * s + 1e-9, (cls.name, p, law.params_[p], truth.params_[p], s)


def check_json(cls):
    """fit -> fits.json entry -> JSON text -> FitResult: the same law, predicting the same."""
    truth, x, y = truth_for(cls)
    rng = np.random.default_rng(1)
    draws = [(x, y * np.exp(NOISE * rng.standard_normal(len(y)))) for _ in range(3)]
    result = fit_law(new_law(cls), x, y, Replicates(draws, "test draws", 0))
    assert result.fitted, getattr(result, "reason", "")
    back = FitResult.from_json(json.loads(json.dumps(result.to_json())))
    assert type(back.law) is cls and back.law.options() == result.law.options()
    np.testing.assert_array_equal(back.law.predict(x), result.law.predict(x))
    for key, value in result.predict(x).items():
        np.testing.assert_array_equal(back.predict(x)[key], value)


def check_plan(cls):
    """A learning-curve law a plan reads (plan/curve.py: alone, or pooled in a combination) gives
    its floor as its curve's limit, and its error at the best size as its curve."""
    if not cls.plannable or cls.role is not Role.CURVE:
        return
    truth, x, _ = truth_for(cls)
    far = float(truth._f(np.array([[1e80]]), truth.params_)[0])
    assert truth.floor(truth.params_) == pytest.approx(far, rel=1e-6, abs=1e-12), cls.name
    np.testing.assert_array_equal(truth.error_at_best(x[:, 0], truth.params_, 0.05), truth.predict(x))


CONTRACT = (check_gradient, check_shapes, check_options, check_recovery, check_json, check_plan)


@pytest.mark.parametrize("name", list(LAWS))
@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__.removeprefix("check_"))
def test_every_law_keeps_the_contract(name, check):
    check(LAWS[name])


# -- the registry and the schema ------------------------------------------------------------------
def schema_laws() -> tuple[list, list, list]:
    schema = yaml.safe_load(SCHEMA_PATH.read_text())["properties"]
    fit = schema["fit"]["properties"]["laws"]
    return fit["items"]["enum"], fit["default"], schema["external"]["properties"]["laws"]["items"]["enum"]


def test_the_schema_lists_the_registry_laws():
    """The schema is read where a config is validated, before any law is imported (a stage's
    code identity must not depend on the laws), so its lists are copies, held equal here."""
    fit_laws, fit_default, external_laws = schema_laws()
    where = f"{SCHEMA_PATH}: list the registry's laws in the same order"
    assert fit_laws == list(study_laws()), f"{where} (fit.laws: every law a study can fit)"
    assert fit_default == list(default_laws()), f"{where} (fit.laws' default: the laws with default = True)"
    assert external_laws == ["auto", *LAWS], f"{where} (external.laws: auto and every law)"


def test_the_registry_answers_what_the_package_asks():
    assert (
        AUTO
        == auto_laws()
        == {1: ("power", "power-pure", "envelope", "m4", "bnsl"), 2: ("joint", "joint-additive", "chinchilla")}
    )
    assert options_for(eps0=0.9, starts=20) == {
        "power": {"best_guess": 0.9},
        "m4": {"eps0": 0.9},
        "joint": {"eps0": 0.9},
        "chinchilla": {"screen": 20},
    }
    assert options_for() == {}
    with pytest.raises(UserError, match="unknown law 'hestness'"):
        make_law("hestness")


# -- what a new law costs: its class, and one line in the registry ---------------------------------
class PurePower(Law):
    """A throwaway law, eps(n) = a n^-b: the class is all a new learning-curve law needs."""

    name = "pure-power"
    formula = "eps(n) = a * n^-b"
    param_names = ("a", "b")
    log_params = frozenset({"a"})

    def _f(self, x, p):
        return p["a"] * np.power(x[:, 0], -p["b"])

    def _grad(self, x, p):
        reducible = np.power(x[:, 0], -p["b"])
        return {"a": reducible, "b": -p["a"] * reducible * np.log(x[:, 0])}

    def _bounds(self, x, y):
        return {"a": (1e-300, 1e300), "b": (0.0, 4.0)}

    def _starts(self, x, y):
        slope = -np.polyfit(np.log(x[:, 0]), np.log(y), 1)[0]
        return [{"a": float(y[0] * x[0, 0] ** b), "b": b} for b in (0.1, max(slope, 0.01), 1.0)]


def test_a_new_law_is_its_class_and_one_line_in_the_registry(monkeypatch, tmp_path):
    monkeypatch.setitem(LAWS, PurePower.name, PurePower)  # the one line
    for check in CONTRACT:
        check(PurePower)
    n = np.geomspace(1e2, 1e5, 10)
    pd.DataFrame({"n": n, "y": 3.0 * n**-0.4}).to_csv(tmp_path / "t.csv", index=False)
    fit = fit_table(TableSpec(tmp_path / "t.csv", ["pure-power"], ["n"], "y"), replicates=3)["all"]
    assert fit["pure-power"]["params"]["b"]["value"] == pytest.approx(0.4)
    assert "pure-power" in study_laws() and "pure-power" not in auto_laws()[1]
