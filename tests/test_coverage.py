"""Calibration of the study path's 95% intervals, by simulation with known truth: a small
version of benchmarks/coverage.py (3 seeds, a noise term shared by a shard's seeds, region
detection on). Each kind of interval (parameter CIs, the mean curve's band beyond the data,
prediction intervals) must cover the truth 88% of the time on average, and no single one less
than 85% (40 studies give each a standard error of about 3.5%); the benchmark's figures (100
studies x 100 replicates) are in RESULTS.md."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from coverage import coverage  # noqa: E402

STUDIES, REPLICATES = 40, 40


@pytest.mark.slow
@pytest.mark.parametrize("case", ["clean", "small-data"])
def test_intervals_cover_the_truth_at_least_88_percent(case):
    cov = coverage(case, STUDIES, REPLICATES)
    report = ", ".join(f"{k} {100 * v:.0f}%" for k, v in cov.items() if k != "small_data_shards")
    for kind in (("alpha", "beta", "gamma"), ("band_4x", "band_10x"), ("pi_1x", "pi_4x")):
        assert np.mean([cov[k] for k in kind]) >= 0.88, f"{case}: {report}"
        assert min(cov[k] for k in kind) >= 0.85, f"{case}: {report}"
    if case == "small-data":
        assert cov["small_data_shards"] >= 0.5  # the bent shards are found
