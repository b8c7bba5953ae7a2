"""The Chinchilla replication (Besiroglu et al. 2024) on its own data, with the default estimator."""

from pathlib import Path

import pandas as pd
import pytest

from scalinglaws.fit.laws import ChinchillaLaw
from scalinglaws.fit.uncertainty import bootstrap, resample_runs

DATA = Path(__file__).parent / "data" / "chinchilla_svg_extracted_data.csv"
# The replication's estimates and 95% bootstrap intervals on its 240 points.
PUBLISHED = {
    "E": (1.8172, 1.769, 1.871),
    "A": (482.0, 285, 744),
    "B": (2085.4, 1042, 5810),
    "alpha": (0.3478, 0.317, 0.373),
    "beta": (0.3658, 0.331, 0.415),
}


@pytest.fixture(scope="module")
def chinchilla_points():
    df = pd.read_csv(DATA)
    df["D"] = df["Training FLOP"] / (6 * df["Model Size"])
    df = df.sort_values("loss", kind="stable").iloc[:-5]  # drop the 5 highest-loss points
    return df[["Model Size", "D"]].to_numpy(), df["loss"].to_numpy()


@pytest.fixture(scope="module")
def fitted(chinchilla_points):
    """The full multi-start fit: L-BFGS from every one of the 4,500 grid starts."""
    x, y = chinchilla_points
    return ChinchillaLaw().fit(x, y)


def test_data_are_the_replications_240_points(chinchilla_points):
    x, y = chinchilla_points
    assert len(y) == 240 and y.max() < 4.0
    assert x[:, 0].min() > 4e7 and x[:, 0].max() < 2e10


@pytest.mark.slow
def test_chinchilla_reproduces_the_published_replication_within_its_cis(fitted):
    for name, (_, lo, hi) in PUBLISHED.items():
        assert lo <= fitted.params_[name] <= hi, f"{name} = {fitted.params_[name]:.4g} outside [{lo}, {hi}]"
    # and close to the point estimates themselves
    assert fitted.params_["E"] == pytest.approx(1.8172, abs=0.01)
    assert fitted.params_["alpha"] == pytest.approx(0.3478, abs=0.005)
    assert fitted.params_["beta"] == pytest.approx(0.3658, abs=0.005)
    assert not fitted.warnings_


def test_screened_grid_finds_the_same_optimum(chinchilla_points, fitted):
    x, y = chinchilla_points
    screened = ChinchillaLaw(screen=100).fit(x, y)
    assert screened.loss_ == pytest.approx(fitted.loss_, rel=1e-6)


def test_bootstrap_over_points_matches_the_published_intervals(chinchilla_points, fitted):
    x, y = chinchilla_points
    what, reps = resample_runs(x, y, replicates=100, seed=0)
    assert what == "points"
    ci = bootstrap(fitted, reps).intervals()
    for name, (value, lo, hi) in PUBLISHED.items():
        ours = ci[name]
        assert ours[0] < value < ours[1], name
        # the same width as the replication's 1,000 refits, within a factor of 1.6
        assert 1 / 1.6 < (ours[1] - ours[0]) / (hi - lo) < 1.6, f"{name}: {ours} vs [{lo}, {hi}]"


def test_no_compute_optimal_allocation_where_the_loss_does_not_fall_with_both():
    law = ChinchillaLaw()
    law.params_ = {"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": -0.02, "beta": 0.37}
    assert law.extras() == {}
    assert law._summary_extras() == [
        "compute-optimal allocation: not defined (the loss does not fall with both N and D)"
    ]
