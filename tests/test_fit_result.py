"""The fit result reports itself: fits.json is its serialisation and round-trips exactly, it
predicts with both intervals, and it prints what `scalinglaws fit` prints."""

import json
from pathlib import Path

import numpy as np
import pytest

from scalinglaws.fit.curves import CurveFits, read_fits
from scalinglaws.fit.entry import fit_law
from scalinglaws.fit.intervals import intervals
from scalinglaws.fit.laws import PowerLaw, make_law
from scalinglaws.fit.result import FitResult, NotFitted, PredictError
from scalinglaws.fit.uncertainty import Replicates, resample_runs, runs_noise

GOLDEN = Path(__file__).parent / "data" / "golden" / "tiny_fits.json"


def canonical(d) -> str:
    return json.dumps(d, sort_keys=True)


def small_fit() -> FitResult:
    rng = np.random.default_rng(0)
    n = np.repeat(2.0 ** np.arange(8, 15), 3)
    y = (0.8 * n**-0.3 + 0.02) * np.exp(0.03 * rng.standard_normal(len(n)))
    what, reps = resample_runs(n, y, 40, seed=0)
    points = np.unique(n)
    means = np.array([y[n == v].mean() for v in points])
    return fit_law(PowerLaw(), points, means, Replicates(reps, what, 0), noise=runs_noise(n, y))


def test_the_golden_fits_round_trip_exactly():
    stored = json.loads(GOLDEN.read_text())
    curves = read_fits(stored)
    assert canonical({k: c.to_json() for k, c in curves.items()}) == canonical(stored)
    curve = curves["teacher/mlp"]
    assert [r.name for r in curve.fitted()] == curve.law_names
    again = FitResult.from_json(json.loads(json.dumps(curve.laws["power"].to_json())))
    at = np.array([[1e5], [1e6]])
    for key, value in curve.laws["power"].predict(at).items():
        np.testing.assert_array_equal(value, again.predict(at)[key])


def test_a_result_predicts_as_its_fit_did_and_reloads_identically():
    result = small_fit()
    assert (
        result.fitted
        and result.name == "power"
        and result.law.params_ == {k: e.value for k, e in result.params.items()}
    )
    at = np.geomspace(256, 1e6, 7)[:, None]
    iv = result.predict(at)
    direct = intervals(result.law, result.samples, result.noise, at, result.seed)
    for key in ("prediction", "ci_low", "ci_high", "pi_low", "pi_high"):
        np.testing.assert_array_equal(iv[key], direct[key])
    assert (iv["pi_low"] < iv["ci_low"]).all() and (iv["ci_high"] < iv["pi_high"]).all()
    text = json.dumps(result.to_json())
    reloaded = FitResult.from_json(json.loads(text))
    assert json.dumps(reloaded.to_json()) == text
    for key, value in reloaded.predict(at).items():
        np.testing.assert_array_equal(value, iv[key])
    # the truth (0.8 n^-0.3 + 0.02) is inside the mean curve's CI at the data
    truth = 0.8 * at[:2, 0] ** -0.3 + 0.02
    assert ((iv["ci_low"][:2] < truth * 1.05) & (truth * 0.95 < iv["ci_high"][:2])).all()


def test_the_summary_is_the_table_with_its_backtest():
    result = small_fit()
    text = result.summary()
    assert text.startswith(result.law_summary)
    assert f"backtest ({result.backtest['how']}): mean relative error" in text
    assert "beta" in text and "gamma" in text


def test_a_law_that_could_not_be_fitted_says_why_and_round_trips():
    bad = fit_law(make_law("power"), [1.0, 2.0], [0.5, 0.4], Replicates([], "points", 0))
    assert isinstance(bad, NotFitted) and not bad.fitted and "need at least 3" in bad.reason
    assert NotFitted.from_json(bad.to_json()).to_json() == bad.to_json()
    assert bad.summary() == f"power: not fitted: {bad.reason}"
    old = {"law": "power", "skipped": "left out by --law auto"}
    assert NotFitted.from_json(old).skipped and FitResult.from_json(old).to_json() == old


def test_a_result_of_another_version_keeps_its_record_but_does_not_predict():
    entry = json.loads(GOLDEN.read_text())["teacher/mlp"]["power"]
    entry["predict"] = {**entry["predict"], "version": 0}
    result = FitResult.from_json(entry)
    assert not result.can_predict() and result.to_json()["predict"] == entry["predict"]
    with pytest.raises(PredictError, match="incompatible version"):
        result.predict([[1e5]])
    assert result.redraw() == entry["plot"]


def test_the_default_law_is_the_selected_one_else_the_first_error_law():
    curve = CurveFits("g", {"laws": ["size", "power"], "selection": [{"law": None}]})
    assert curve.default_law(1) == "power"
    assert CurveFits("g", {"laws": ["power", "bnsl"], "selection": [{"law": "bnsl"}]}).default_law(1) == "bnsl"
