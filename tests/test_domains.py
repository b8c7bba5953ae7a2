"""Datasets beyond the default: text, functions, calibration, and users' own datasets."""

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from scipy.special import j0

from scalinglaws import cli
from scalinglaws.datasets import DataError, make_dataset
from scalinglaws.datasets.text import DEFAULT_PATH
from scalinglaws.study import ConfigError, Study

GPL = "/usr/share/common-licenses/GPL-3"
TEXT = {"path": GPL, "context": 16, "block_size": 128, "val_tokens": 1024, "test_tokens": 2048}


def test_text_shards_are_nested_token_prefixes_with_shifted_targets():
    ds = make_dataset("text", TEXT, seed=0)
    assert ds.task == "lm" and ds.metric == "bpb" and ds.input_shape == (16,) and ds.num_outputs == 256
    big, small = ds.shard(4096), ds.shard(1000)  # 1000 tokens: 62 whole windows
    assert big.x.shape == (256, 16) and small.x.shape == (62, 16) and big.x.dtype == np.uint8
    np.testing.assert_array_equal(big.x[:62], small.x)
    np.testing.assert_array_equal(big.x[:, 1:], big.y[:, :-1])  # y is x shifted by one byte
    np.testing.assert_array_equal(big.x[1:, 0], big.y[:-1, -1])  # windows are consecutive
    raw = Path(GPL).read_bytes()
    assert bytes(big.x[0]) in raw  # real text, not a re-encoding
    splits = ds.eval_splits()
    assert splits["val"].x.shape == (64, 16) and splits["test"].x.shape == (128, 16)
    pool = bytes(big.x.reshape(-1))
    assert bytes(splits["val"].x[5]) not in pool and bytes(splits["test"].x[7]) not in pool
    assert ds.pool_size == len(raw) // 128 * 128 - 1024 - 2048 - 3
    with pytest.raises(DataError, match="shard size 8 is smaller than dataset 'text' context of 16"):
        ds.check_shard(8)


def test_text_validation_and_test_streams_are_disjoint_from_the_largest_shard(monkeypatch):
    """By position in the corpus, not by content (text repeats itself): the stream is replaced by
    each byte's own index, and no index of the validation or test windows (inputs or targets)
    is in the largest shard the pool allows, the one every smaller shard is a prefix of."""
    ds = make_dataset("text", TEXT, seed=0)
    data = ds._bytes()[0]
    monkeypatch.setattr(ds, "_bytes", lambda: (np.arange(data.size, dtype=np.int64), "positions"))
    big = ds.shard(ds.pool_size)
    assert big.x.size == ds.pool_size // 16 * 16  # every window the pool holds
    used = np.union1d(big.x, big.y)
    splits = ds.eval_splits()
    val = np.union1d(splits["val"].x, splits["val"].y)
    test = np.union1d(splits["test"].x, splits["test"].y)
    assert len(val) == 1024 + 1 and len(test) == 2048 + 1  # whole streams, each with its extra target
    assert not np.intersect1d(used, val).size and not np.intersect1d(used, test).size
    assert not np.intersect1d(val, test).size
    with pytest.raises(DataError, match="is larger than dataset 'text' pool"):
        ds.check_shard(ds.pool_size + 1)


def test_text_identity_follows_content_not_location(tmp_path):
    copy = tmp_path / "gpl.txt"
    copy.write_bytes(Path(GPL).read_bytes())
    a = make_dataset("text", TEXT, seed=0)
    b = make_dataset("text", {**TEXT, "path": str(copy)}, seed=0)
    assert a.shard_identity(4096) == b.shard_identity(4096)
    copy.write_bytes(Path(GPL).read_bytes()[:-1] + b"!")
    assert make_dataset("text", {**TEXT, "path": str(copy)}, seed=0).shard_identity(4096) != a.shard_identity(4096)
    with pytest.raises(
        DataError, match="datasets.text.path: .* not found; install it with: sudo apt-get install dict-gcide"
    ):
        make_dataset("text", {"path": str(tmp_path / "none.dict.dz")}, seed=0)


@pytest.mark.skipif(not os.path.isfile(DEFAULT_PATH), reason="dict-gcide is not installed (envs/setup.sh installs it)")
def test_gcide_default_corpus_is_english_text():
    ds = make_dataset("text", {}, seed=0)
    assert ds.pool_size > 39_000_000
    x = ds.eval_splits()["val"].x
    text = bytes(x.reshape(-1)).decode("latin-1")
    assert text.count(" the ") > 100 and "[1913 Webster]" in text


@pytest.mark.parametrize(
    "name, point, value",
    [
        ("bessel", [0.1], j0(2.0)),
        ("exp-sin", [0.5, 0.5], math.exp(1.25)),
        ("xy", [0.3, -0.5], -0.15),
        ("exp-4d", [0.5, 0.5, 0.0, 0.0], math.exp(0.5 * math.sin(math.pi / 2))),
        ("exp-100d", [1.0] * 100, math.e),
    ],
)
def test_kan_paper_functions(name, point, value):
    ds = make_dataset("functions", {"function": name}, seed=0)
    assert ds.input_shape == (len(point),) and ds.metric == "rmse"
    assert ds.f(np.array([point]))[0] == pytest.approx(value, rel=1e-6)
    test = ds.eval_splits()["test"]
    assert test.x.min() >= -1 and test.x.max() <= 1 and test.x.shape == (1000, len(point))
    np.testing.assert_allclose(test.y[:, 0], ds.f(test.x.astype(float)), rtol=1e-5, atol=1e-6)
    with pytest.raises(DataError, match="datasets.f.function: unknown function 'sin'"):
        make_dataset("f", {"type": "functions", "function": "sin"}, seed=0)


def test_calibration_data_follows_its_generative_model():
    ds = make_dataset(
        "calibration", {"dim": 8, "outputs": 64, "alpha": 1.0, "noise_std": 0.5, "test_size": 20000}, seed=0
    )
    splits = ds.eval_splits()
    lam = np.arange(1, 9) ** -2.0
    np.testing.assert_allclose(splits["test"].x.var(0), lam / lam.sum(), rtol=0.1)
    # the test labels are the noiseless teacher; validation labels carry the noise
    np.testing.assert_allclose(splits["test"].y, splits["test"].x @ ds.weights.astype(np.float32), rtol=1e-4, atol=1e-5)
    resid = splits["val"].y - splits["val"].x @ ds.weights
    assert resid.std() == pytest.approx(0.5, rel=0.05)
    assert float(splits["test"].y.var()) == pytest.approx(1.0, rel=0.25)  # unit signal variance
    # least squares on a shard reaches the closed-form expected excess risk
    shard = ds.shard(400)
    w = np.linalg.lstsq(shard.x, shard.y, rcond=None)[0]
    excess = np.mean((splits["test"].x @ w - splits["test"].y) ** 2)
    assert excess == pytest.approx(float(ds.least_squares_excess(400)), rel=0.15)
    np.testing.assert_allclose(ds.truncation_error([0, 2, 8]), [1.0, 1 - lam[:2].sum() / lam.sum(), 0.0])


USER_DATASET = '''
import numpy as np
from scalinglaws.datasets import Dataset, Split


class Parity(Dataset):
    """Sign of the product of 3 inputs: a user's dataset in the user's own file."""
    task, metric, input_shape, num_outputs = "classification", "error", (3,), 2

    @property
    def pool_size(self):
        return 10000

    def _draw(self, stream, n):
        x = np.random.default_rng([self.seed, stream]).standard_normal((n, 3)).astype(np.float32)
        return Split(x, (x.prod(1) > 0).astype(np.int64))

    def shard(self, n):
        self.check_shard(n)
        pool = self._draw(0, self.pool_size)
        return Split(pool.x[:n], pool.y[:n])

    def eval_splits(self):
        return {"val": self._draw(1, 200), "test": self._draw(2, 200)}
'''


def _user_config(kind: str, **options) -> dict:
    return {
        "study": "user",
        "device": "cpu",
        "datasets": {"mine": {"type": kind, **options}},
        "models": {"mlp": {"sizes": [8]}},
        "shards": {"sizes": [100, 200, 400]},
        "training": {"seeds": 1, "learning_rates": [0.01], "min_steps": 20, "max_steps": 20, "eval_every": 10},
    }


def test_user_dataset_class_from_a_file_runs_through_the_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("mydata.py").write_text(USER_DATASET)
    study = Study(_user_config("mydata.py:Parity"))
    assert study.datasets["mine"].num_outputs == 2 and len(study.jobs) == 3
    job = next(j for j in study.jobs.values() if j.n == 200)
    assert cli.main(["data", "--dataset", study.data_spec(job.shard_key), "--n", "200", "--out", "shard.npz"]) == 0
    assert cli.main(["data", "--dataset", study.data_spec(job.eval_key), "--out", "eval.npz"]) == 0
    assert (
        cli.main(
            [
                "train",
                "--spec",
                json.dumps(job.spec),
                "--shard",
                "shard.npz",
                "--eval",
                "eval.npz",
                "--out",
                "metrics.json",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    runs = json.loads(Path("metrics.json").read_text())["runs"]
    assert (
        len(runs) == 1 and 0 <= runs[0]["test_metric"] <= 1 and runs[0]["params"] == 3 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2
    )
    # the user's code is part of the data's identity: changing it reruns its shards (a comment does not)
    Path("mydata.py").write_text(USER_DATASET + "\n# edited\n")
    assert set(Study(_user_config("mydata.py:Parity")).shards) == set(study.shards)
    Path("mydata.py").write_text(USER_DATASET + "\n_EDITED = 1\n")
    assert not set(Study(_user_config("mydata.py:Parity")).shards) & set(study.shards)


def test_user_dataset_errors_name_the_field(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"datasets.mine.type: file nope.py not found"):
        Study(_user_config("nope.py:Parity"))
    Path("mydata.py").write_text("class Parity: pass\n")
    with pytest.raises(ConfigError, match=r"'Parity' in mydata.py is not a subclass of scalinglaws.datasets.Dataset"):
        Study(_user_config("mydata.py:Parity"))
