"""The whole pipeline recovers a learning-curve exponent that is known in closed form.

A small version of studies/calibration.yaml, run end to end by the real Snakemake: a linear
teacher (16 features, 128 outputs, label noise 0.5) learned by the `linear` family. Least
squares has expected excess risk noise^2 * dim / (n - dim - 1), exponent -1.
"""

import json

import numpy as np
import pytest

from conftest import make_checkout, snakemake
from scalinglaws.datasets import make_dataset
from scalinglaws.fit.laws import PowerLaw

pytestmark = pytest.mark.e2e

DATA = {"dim": 16, "outputs": 128, "alpha": 0.0, "noise_std": 0.5, "val_size": 2048, "test_size": 2048}
CONFIG = {
    "study": "calibration",
    "seed": 0,
    "device": "cpu",
    "datasets": {"calibration": DATA},
    "models": {"linear": {"sizes": [16]}},
    "shards": {"min": 256, "max": 4096, "factor": 2},
    "training": {
        "seeds": 2,
        "learning_rates": [0.004],
        "batch_size": 1024,
        "epochs": 30,
        "min_steps": 2000,
        "max_steps": 2000,
        "eval_every": 50,
        "patience": 10,
    },
    "fit": {"bootstrap": 100},
}


def test_calibration_study_recovers_the_known_exponent(tmp_path):
    work = make_checkout(tmp_path, CONFIG)
    snakemake(work)
    fit = json.loads((work / "results/calibration/fits/fits.json").read_text())["calibration/linear"]
    beta = fit["power"]["params"]["beta"]
    assert beta["value"] == pytest.approx(-1.0, rel=0.10), beta
    # the same law fitted to the closed-form expectation at the same shards
    ds = make_dataset("calibration", DATA, seed=0)
    n = np.array(fit["shards"], float)
    theory = PowerLaw().fit(n, ds.least_squares_excess(n)).params_["beta"]
    assert beta["value"] == pytest.approx(theory, rel=0.10)
    lo, hi = beta["ci95"]
    assert lo <= beta["value"] <= hi and hi - lo < 0.2
    # and the curve itself is close to the expected excess risk of least squares
    curve = fit["power"]["band"]
    pred = np.interp(n, curve["x"], curve["fit"])
    np.testing.assert_allclose(pred, ds.least_squares_excess(n), rtol=0.35)
