"""A mistake in a config, a job spec or an option is one line naming the key, exit status 2, and
no traceback (errors.UserError)."""

from __future__ import annotations

import json

import pytest

from scalinglaws.cli import main
from test_tables import runs_table

TRAIN = {"seeds": [0], "learning_rates": [0.01], "batch_size": 32, "min_steps": 20, "max_steps": 20}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A stored teacher shard and its eval splits (flat inputs, no images, no token windows)."""
    folder = tmp_path_factory.mktemp("data")
    spec = json.dumps({"name": "teacher", "options": {"input_dim": 4, "val_size": 64, "test_size": 64}, "seed": 0})
    assert main(["data", "--dataset", spec, "--n", "128", "--out", str(folder / "shard.npz")]) == 0
    assert main(["data", "--dataset", spec, "--out", str(folder / "eval.npz")]) == 0
    return folder


def one_line_error(capsys, args: list[str], expected: str) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and expected in err, err


@pytest.mark.parametrize(
    "family, options, train, expected",
    [
        ("kan", {"size_is": "depth"}, {}, "models: kan size_is must be 'width' or 'grid', got 'depth'"),
        ("cnn", {}, {}, "models: the cnn family needs image inputs (channels, height, width), got shape (4,)"),
        ("transformer", {"head_dim": 16}, {}, "models: transformer width 50 does not split into 3 heads"),
        ("mlp", {}, {"schedule": "bogus"}, "training.schedule: unknown schedule 'bogus'"),
    ],
)
def test_a_job_spec_the_trainer_refuses_is_one_line(data, tmp_path, capsys, family, options, train, expected):
    job = {
        "family_type": family,
        "size": 50 if family == "transformer" else 8,
        "model_options": options,
        "task": "regression",
        "num_outputs": 1,
        "train": {**TRAIN, **train},
    }
    args = ["train", "--spec", json.dumps(job), "--shard", str(data / "shard.npz"), "--eval", str(data / "eval.npz")]
    one_line_error(capsys, [*args, "--out", str(tmp_path / "metrics.json"), "--device", "cpu"], expected)
    assert not (tmp_path / "metrics.json").exists()


def test_a_derived_column_without_a_name_is_one_line(tmp_path, capsys):
    table = runs_table(tmp_path / "runs.csv", groups=("a",))
    args = ["fit", str(table), "--x", "n", "--y", "error", "--derive", "no equals sign", "--no-figures"]
    one_line_error(capsys, args, "scalinglaws fit: error: --derive 'no equals sign': expected NAME=EXPRESSION")
