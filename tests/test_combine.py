"""Combining the laws (fit/combine.py): stacking weights from leave-future-out backtests, the
mixture's intervals, predictions from few points, and what the combination must never see."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from scipy.stats import t as student_t

from scalinglaws.fit.combine import bagged_stacking_weights, describe, log_scores, stacking_weights
from scalinglaws.fit.curves import read_fits
from scalinglaws.fit.external import TableSpec, fit_table
from scalinglaws.fit.laws import make_law
from scalinglaws.fit.mixture import Mixture
from scalinglaws.fit.predict import default_prediction
from scalinglaws.fit.uncertainty import Noise, shared_draws

BEND = {"a": 0.0, "b": 5.0, "c0": 0.1, "c1": 0.6, "d1": 3e5, "f1": 0.1}  # a sharp break near n = 3e5


def table(path, curves: dict, held: int = 0):
    """{group: (x, y)} as a CSV; the last `held` rows of each group are held out."""
    rows = [
        {"g": g, "x": a, "y": b, "h": "yes" if i >= len(xs) - held else "no"}
        for g, (xs, ys) in curves.items()
        for i, (a, b) in enumerate(zip(xs, ys))
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def fit(path, laws=("auto",), held=True, replicates=10):
    spec = TableSpec(path, list(laws), ["x"], "y", group="g", holdout_col="h" if held else None)
    return fit_table(spec, replicates)


def test_stacking_weights_maximise_the_mixtures_log_score():
    rng = np.random.default_rng(0)
    better = np.column_stack([rng.normal(-1, 0.1, 30), rng.normal(-5, 0.1, 30)])
    assert stacking_weights(better)[0] > 0.999  # one law predicts every point better: it takes all
    # two laws that are each right on half the points: the mixture needs both
    halves = np.vstack([np.tile([-1.0, -9.0], (15, 1)), np.tile([-9.0, -1.0], (15, 1))])
    w = stacking_weights(halves)
    assert w == pytest.approx([0.5, 0.5], abs=1e-6)

    def score(v):
        return logsumexp(halves + np.log(np.maximum(v, 1e-300)), axis=1).sum()

    assert score(w) > max(score(np.array([1.0, 0.0])), score(np.array([0.0, 1.0])), score(np.array([0.7, 0.3])))


def test_weights_carry_their_own_uncertainty_over_few_splits():
    """Four splits, law 0 better on three, law 1 better on one: stacking on the points alone gives
    law 0 everything; averaged over Bayesian-bootstrap redraws of the splits, law 1 keeps a share,
    since a next split like the fourth could well come. With forty splits like these, the
    redraws agree with plain stacking (to 0.01)."""
    few = np.array([[0.0, -2.0]] * 3 + [[-1.0, 0.0]])
    plain, bagged = stacking_weights(few), bagged_stacking_weights(few, np.arange(4), seed=0)
    assert plain[1] < 1e-6 and bagged.sum() == pytest.approx(1) and 0.05 < bagged[1] < 0.2
    assert bagged_stacking_weights(few, np.arange(4), seed=0) == pytest.approx(bagged)  # seeded
    many = np.tile(few, (10, 1))
    assert bagged_stacking_weights(many, np.arange(40), seed=0)[1] < 0.01


def test_a_point_predicted_from_few_residuals_is_scored_with_heavy_tails():
    """A law whose split fit leaves 2 residuals: their variance says little, so a miss by 70 of
    its standard deviations costs a few nats (Student t), not thousands (a normal)."""
    split = {"train_max": 10.0, "predicted": [1.0], "observed": [float(np.exp(0.07))], "param_sd_unit": [0.0]}
    few = {"splits": [{**split, "resid_var": 1e-6, "dof": 2}]}
    many = {"splits": [{**split, "resid_var": 1e-6, "dof": 10**6}]}
    scores, split_of = log_scores({"few": few, "many": many}, [10.0])
    assert split_of.tolist() == [0] and -12 < scores[0, 0] < -5 and scores[0, 1] < -2000
    assert scores[0, 0] == pytest.approx(student_t.logpdf(0.07, 2, scale=1e-3), rel=1e-6)


def test_a_sharp_bend_inside_the_data_is_predicted_by_the_combination(tmp_path):
    """A broken power law whose break lies among the last fitted points (14 fitted, 1% noise):
    power plus constant misses the next 3 points by far, the combination does not."""
    n = 100 * 2.0 ** np.arange(17)
    y = make_law("bnsl")._f(n[:, None], BEND) * np.exp(0.01 * np.random.default_rng(1).standard_normal(len(n)))
    fits = fit(table(tmp_path / "bend.csv", {"c": (n, y)}, held=3))
    curve = read_fits(fits)["c"]
    mixture = default_prediction(curve, 1)
    assert isinstance(mixture, Mixture) and "bnsl" in mixture.weights
    iv = mixture.predict(n[-3:, None])
    error = np.abs(iv["prediction"] / y[-3:] - 1).mean()
    assert error < 0.35 and error < 0.25 * curve.get("power").holdout["mean_rel_error"]
    assert ((iv["pi_low"] < y[-3:]) & (y[-3:] < iv["pi_high"])).all()


def test_the_combination_never_sees_held_out_rows(tmp_path):
    n = 100 * 2.0 ** np.arange(10)
    y = (2 * n**-0.5 + 0.1) * np.exp(0.03 * np.random.default_rng(2).standard_normal(len(n)))
    first = fit(table(tmp_path / "a.csv", {"c": (n, y)}, held=2), replicates=5)["c"]
    moved = y.copy()
    moved[-2:] *= [3.0, 0.2]
    second = fit(table(tmp_path / "b.csv", {"c": (n, moved)}, held=2), replicates=5)["c"]
    assert first["combination"] == second["combination"] and first["selection"] == second["selection"]
    for name in first["laws"]:
        a, b = first[name], second[name]
        if "params" not in a:
            assert a == b
            continue
        assert a["params"] == b["params"] and a["backtest"] == b["backtest"] and a["warnings"] == b["warnings"]
        assert a["predict"] == b["predict"]
        assert a["holdout"] != b["holdout"]  # only the score of the held-out rows moved


@pytest.mark.parametrize("points", [3, 4])
def test_few_points_still_get_a_prediction_with_intervals(tmp_path, points):
    n = 1000 * 2.0 ** np.arange(points)
    y = (2 * n**-0.3 + 0.02) * np.exp(0.02 * np.random.default_rng(points).standard_normal(points))
    fits = fit(table(tmp_path / "few.csv", {"c": (n, y)}), held=False, replicates=50)
    curve = read_fits(fits)["c"]
    (combo,) = curve.info["combination"]
    assert combo["weights"] and "power-pure" in combo["weights"]
    pred = default_prediction(curve, 1)
    iv = pred.predict(np.array([[4 * n[-1]]]))
    assert np.isfinite([iv[k][0] for k in ("prediction", "ci_low", "ci_high", "pi_low", "pi_high")]).all()
    assert iv["ci_low"][0] < iv["ci_high"][0] and iv["pi_low"][0] < iv["prediction"][0] < iv["pi_high"][0]
    assert iv["pi_low"][0] <= iv["ci_low"][0] and iv["ci_high"][0] <= iv["pi_high"][0]


def test_where_the_laws_part_beyond_the_data_the_interval_widens(tmp_path):
    """Two laws that fit a curve alike but part beyond it: the mixture's CI holds both."""
    n = 100 * 2.0 ** np.arange(9)
    y = (2 * n**-0.5 + 0.1) * np.exp(0.02 * np.random.default_rng(3).standard_normal(len(n)))
    fits = fit(table(tmp_path / "t.csv", {"c": (n, y)}), laws=("power", "power-pure"), held=False)
    curve = read_fits(fits)["c"]
    power, pure = curve.get("power"), curve.get("power-pure")
    mixture = Mixture({"power": power, "power-pure": pure}, {"power": 0.5, "power-pure": 0.5})
    far = np.array([[100 * n[-1]]])
    iv, a, b = mixture.predict(far), power.predict(far), pure.predict(far)
    lo, hi = sorted([a["prediction"][0], b["prediction"][0]])
    assert iv["ci_low"][0] < lo and hi < iv["ci_high"][0]
    width = np.log(iv["ci_high"][0] / iv["ci_low"][0])
    assert width > max(np.log(a["ci_high"][0] / a["ci_low"][0]), np.log(b["ci_high"][0] / b["ci_low"][0]))


def test_a_shared_variance_estimated_as_zero_still_widens_the_replicates():
    """Residuals no wider than the seeds explain (shared variance 0) with 4 degrees of freedom:
    the replicates still add the shard-level noise that so few residuals cannot rule out."""
    noise = Noise(run_var=0.003, runs=3.0, resid_var=0.0008, dof=4)
    assert noise.shared_var == 0
    draws = shared_draws(noise, 400, seed=0)
    assert (draws > 0).mean() > 0.1 and np.isfinite(draws).all()
    assert not shared_draws(Noise(run_var=None, resid_var=0.01, dof=4), 10, 0).any()  # no seeds: nothing to add


def test_the_combination_is_written_and_read_back(tmp_path):
    n = 100 * 2.0 ** np.arange(9)
    y = (2 * n**-0.5 + 0.1) * np.exp(0.02 * np.random.default_rng(4).standard_normal(len(n)))
    fits = fit(table(tmp_path / "t.csv", {"c": (n, y)}), laws=("power", "m4"), held=False)
    text = json.dumps(fits)
    curve = read_fits(json.loads(text))["c"]
    (combo,) = curve.info["combination"]
    assert set(combo["weights"]) == {"power", "m4"} and sum(combo["weights"].values()) == pytest.approx(1)
    assert json.dumps({k: c.to_json() for k, c in read_fits(json.loads(text)).items()}) == text
    # beside the combined prediction, each law's own, at 2x, 4x, 10x and 100x the largest x: predict's numbers
    block = combo["predictions"]
    at = np.array(block["at"])
    assert block["factors"] == [2, 4, 10, 100] and at[:, 0].tolist() == [k * n[-1] for k in (2, 4, 10, 100)]
    for key, value in default_prediction(curve, 1).predict(at).items():
        np.testing.assert_array_equal(block["combined"][key], value)
    for name in ("power", "m4"):
        np.testing.assert_array_equal(block["laws"][name]["prediction"], curve.get(name).predict(at)["prediction"])
    lines = [line for line in describe(combo) if line.startswith("  at 10x the largest x")]
    own = {name: f"{block['laws'][name]['prediction'][2]:.4g}" for name in ("power", "m4")}
    assert len(lines) == 1 and f"combined {block['combined']['prediction'][2]:.4g}" in lines[0]
    assert all(f"{name} {value}" in lines[0] for name, value in own.items())


def test_a_law_with_parameters_held_stands_in_only_where_the_fuller_law_cannot_be_backtested(tmp_path):
    """power-pure is power with its floor held at 0: on a curve whose floor lies beyond the data,
    it wins the backtests inside the data and its narrow band would stand for power's, so it is
    left out of the combination where power can be backtested (and says why); with 3 points
    (power cannot be backtested) it answers (test_few_points_still_get_a_prediction_with_intervals)."""
    n = 128 * 2.0 ** np.arange(8)
    y = (5 * n**-0.5 + 0.01) * np.exp(0.01 * np.random.default_rng(6).standard_normal(len(n)))
    curve = read_fits(fit(table(tmp_path / "t.csv", {"c": (n, y)}), laws=("power", "power-pure"), held=False))["c"]
    (combo,) = curve.info["combination"]
    assert set(combo["weights"]) == {"power"} and "power-pure" in combo["not_combined"]
    assert "power could be backtested" in combo["not_combined"]["power-pure"]
    assert curve.get("power-pure").can_predict()  # `--law power-pure` still gives it alone


def test_a_holdout_column_that_holds_nothing_out_fits_as_without_one(tmp_path):
    """Every law once failed ('zero-size array') when the hold-out column flagged no row."""
    n = 100 * 2.0 ** np.arange(8)
    y = (2 * n**-0.5 + 0.1) * np.exp(0.02 * np.random.default_rng(5).standard_normal(len(n)))
    curve = read_fits(fit(table(tmp_path / "t.csv", {"c": (n, y)}, held=0), laws=("power",), replicates=5))["c"]
    assert curve.get("power") is not None and curve.get("power").holdout is None
