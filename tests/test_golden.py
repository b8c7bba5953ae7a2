"""The tiny study gives exactly the stored numbers: a refactor must not change any result.

tests/data/golden/ holds runs.csv (less its timing and job-key columns, which depend on the
machine and on the code's identity) and fits.json of the tiny study (conftest.TINY_CONFIG) as
the workflow wrote them before the package was reorganised by stage. A change that is meant to
change numbers regenerates them: `python tests/test_golden.py` after a run of the tiny study
(it prints where it reads from), and says so in its commit.
"""

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

GOLDEN = Path(__file__).parent / "data" / "golden"
# what depends on the machine, the installed versions or the code's identity, not on the numbers
MACHINE_COLUMNS = [
    "wall_time_s",
    "job_key",
    "scalinglaws_version",
    "git_commit",
    "torch_version",
    "numpy_version",
    "config_hash",
]

pytestmark = pytest.mark.e2e


def comparable_runs(path: Path) -> pd.DataFrame:
    return pd.read_csv(path).drop(columns=MACHINE_COLUMNS, errors="ignore")


def comparable_fits(path: Path) -> dict:
    fits = json.loads(path.read_text())
    return {key: {k: v for k, v in fit.items() if k != "provenance"} for key, fit in fits.items()}


def test_runs_table_is_bit_identical_to_the_stored_one(tiny_run):
    work, _ = tiny_run
    new, old = comparable_runs(work / "results/tiny/tables/runs.csv"), comparable_runs(GOLDEN / "tiny_runs.csv")
    pd.testing.assert_frame_equal(new, old, check_exact=True)


def test_fits_and_learning_curve_are_byte_identical_to_the_stored_ones(tiny_run):
    work, _ = tiny_run
    new, old = comparable_fits(work / "results/tiny/fits/fits.json"), comparable_fits(GOLDEN / "tiny_fits.json")
    assert new == old
    curve = (work / "results/tiny/tables/learning_curve.csv").read_text()
    assert curve == (GOLDEN / "tiny_learning_curve.csv").read_text()


if __name__ == "__main__":  # regenerate from a checkout that ran the tiny study (argument: its folder)
    results = Path(sys.argv[1]) / "results/tiny"
    comparable_runs(results / "tables/runs.csv").to_csv(GOLDEN / "tiny_runs.csv", index=False)
    shutil.copy(results / "fits/fits.json", GOLDEN / "tiny_fits.json")
    shutil.copy(results / "tables/learning_curve.csv", GOLDEN / "tiny_learning_curve.csv")
    print(f"golden files rewritten from {results}")
