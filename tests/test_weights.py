"""Weighted fits: a point whose seeds disagree wildly must not pull the fit (fit/weights.py)."""

import numpy as np
import pandas as pd
import pytest

from scalinglaws.fit.laws import make_law
from scalinglaws.fit.study import StudyFit, fit_curve
from scalinglaws.fit.weights import between_points_variance, prior, relative_errors

N = 128 * 2.0 ** np.arange(8)
TRUTH = {"alpha": 5.0, "beta": -0.5, "gamma": 0.01}
WILD = 5  # n = 4096: its three seeds are 1x, 2.2x and 1x the truth


def truth(n):
    return TRUTH["alpha"] * n ** TRUTH["beta"] + TRUTH["gamma"]


def seeds(rng) -> np.ndarray:
    """[shard, seed] errors: 2% seed noise around the truth, and one wild shard."""
    cube = truth(N)[:, None] * np.exp(0.02 * rng.standard_normal((len(N), 3)))
    cube[WILD] = truth(N[WILD]) * np.array([1.0, 2.2, 1.0])
    return cube


def test_moderated_errors_pool_alike_points_and_single_out_a_wild_one():
    rng = np.random.default_rng(0)
    alike = truth(N)[:, None] * np.exp(0.02 * rng.standard_normal((len(N), 3)))
    se = relative_errors(alike)
    assert np.ptp(se) == 0 and 0.005 < se[0] < 0.02  # no more spread than sampling: one pooled error
    se = relative_errors(seeds(np.random.default_rng(0)))
    assert se[WILD] > 10 * np.median(np.delete(se, WILD))
    same = alike.copy()
    same[2] = same[2, 0]  # seeds that agree exactly: floored by the prior, never 0
    assert relative_errors(same)[2] > 0
    assert relative_errors(alike[:, :1]) is None  # one seed: nothing to weigh by
    s0, d0 = prior(np.array([1.0, 100.0, 1.0, 1.0]), np.full(4, 2.0))
    assert np.isfinite(d0) and s0 > 0


def test_the_variance_points_share_beyond_their_seeds_is_estimated():
    rng = np.random.default_rng(3)
    se = np.full(2000, 0.02)
    shared = rng.normal(0, np.hypot(0.02, 0.03), 2000)
    assert between_points_variance(shared, se, 2000) == pytest.approx(0.03**2, rel=0.1)
    assert between_points_variance(rng.normal(0, 0.02, 2000), se, 2000) < 0.01**2  # the seeds explain it all
    assert between_points_variance(np.zeros(8), se[:8], 5) == 0.0


def test_a_wild_point_pulls_the_unweighted_fit_but_not_the_weighted_one():
    cube = seeds(np.random.default_rng(1))
    y, se = cube.mean(axis=1), relative_errors(cube)
    plain = make_law("power").fit(N, y)
    weighted = make_law("power").weigh(N, se).fit(N, y)
    assert abs(plain.params_["beta"] - TRUTH["beta"]) > 0.05  # pulled by the wild point (-0.44)
    assert abs(plain.params_["gamma"] - TRUTH["gamma"]) > 0.005  # (gamma 0)
    assert abs(weighted.params_["beta"] - TRUTH["beta"]) < 0.02
    assert abs(weighted.params_["gamma"] - TRUTH["gamma"]) < 0.003
    replicate = weighted.refit(N, y * 1.01)  # bootstrap replicates weigh the same points alike
    assert replicate.point_sd == weighted.point_sd
    assert abs(replicate.params_["beta"] - TRUTH["beta"]) < 0.03


@pytest.mark.parametrize("wild", [False, True])
def test_the_study_path_weighs_estimate_and_replicates(wild):
    """fit_curve: with the wild point the weighted CI still contains the truth, and fits.json
    reports each point's error; without it no point's error stands out."""
    rng = np.random.default_rng(2)
    cube = seeds(rng) if wild else truth(N)[:, None] * np.exp(0.02 * rng.standard_normal((len(N), 3)))
    runs = pd.DataFrame(
        {
            "n": np.repeat(N, 3).astype(int),
            "seed": np.tile(np.arange(3), len(N)),
            "size": 1,
            "params": 100,
            "lr": 0.1,
            "val_metric": cube.ravel(),
            "test_metric": cube.ravel(),
        }
    )
    out = fit_curve(runs, StudyFit(replicates=60, seed=0, laws=("power",)), best_guess=1.0)["power"]
    sd = np.array(out["weights"]["point_sd"])
    beta = out["params"]["beta"]
    assert beta["ci95"][0] <= TRUTH["beta"] <= beta["ci95"][1], beta
    assert abs(beta["value"] - TRUTH["beta"]) < 0.05
    if wild:
        assert sd[WILD] > 10 * np.median(np.delete(sd, WILD))
    else:
        assert sd.max() < 5 * sd.min()


def test_a_table_with_replicates_is_weighed_too():
    """External tables (`scalinglaws fit --replicate-col`): the same weights, the same pull resisted."""
    from scalinglaws.fit.external import TableSpec, fit_group

    cube = seeds(np.random.default_rng(1))
    rows = pd.DataFrame({"n": np.repeat(N, 3), "seed": np.tile(np.arange(3), len(N)), "error": cube.ravel()})
    spec = TableSpec(path="table.csv", laws=["power"], x_cols=["n"], y_col="error", replicate_col="seed")
    power = fit_group(rows, spec, replicates=40, seed=0)["power"]
    sd = np.array(power["weights"]["point_sd"])
    assert sd[WILD] > 10 * np.median(np.delete(sd, WILD))
    assert abs(power["params"]["beta"]["value"] - TRUTH["beta"]) < 0.02
    ci = power["params"]["beta"]["ci95"]
    assert ci[0] <= TRUTH["beta"] <= ci[1]
