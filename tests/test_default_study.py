"""The default study (config.yaml) end to end, run once (about 2.5 minutes on 2 cores), and what
README promises of it: every fitted point of its learning curve is the best its model family can
do (`limited_by` none: points in the detected small-data region are not fitted), and its power
law's gamma CI contains the label-noise floor 0.01 or its notes say gamma is not resolved.

    python tests/test_default_study.py <checkout that ran the default study>

checks a finished run without running it again."""

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, make_checkout, snakemake

NOISE_FLOOR = 0.1**2  # the default teacher's label noise: noise_std 0.1


def check_default_study(results: Path) -> None:
    curve = pd.read_csv(results / "tables/learning_curve.csv")
    fits = json.loads((results / "fits/fits.json").read_text())
    (key,) = fits
    power = fits[key]["power"]
    left_out = set(power["regions"]["small_data_n"])
    fitted = curve[~curve["n"].isin(left_out)]
    limited = fitted[fitted["limited_by"] != "none"]
    assert limited.empty, f"fitted points limited by the protocol:\n{limited[['n', 'limited_by']]}"
    assert len(fitted) >= 7  # enough points for the 3-parameter law to be a selection candidate
    gamma = power["params"]["gamma"]["ci95"]
    unresolved = any("gamma not resolved" in w for w in power["notes"])
    assert unresolved or gamma[0] <= NOISE_FLOOR <= gamma[1], (gamma, power["notes"])
    beta = power["params"]["beta"]
    assert beta["ci95"][0] <= beta["value"] <= beta["ci95"][1] < 0


@pytest.mark.e2e
def test_the_default_study_fits_only_converged_tuned_points(tmp_path):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert config["datasets"]["teacher"]["noise_std"] ** 2 == pytest.approx(NOISE_FLOOR)
    work = make_checkout(tmp_path / "default")
    snakemake(work)
    check_default_study(work / "results" / config["study"])


if __name__ == "__main__":
    check_default_study(Path(sys.argv[1]) / "results/default")
    print("the default study's run passes")
