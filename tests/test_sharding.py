import numpy as np
import pytest

from scalinglaws.datasets import DataError, make_dataset
from scalinglaws.datasets.fashion_mnist import DEFAULT_ROOT
from scalinglaws.study import ConfigError, Study, shard_sizes


def test_geometric_and_explicit_shard_sizes():
    assert shard_sizes({"min": 128, "max": 16384, "factor": 2}, "shards") == [128 * 2**k for k in range(8)]
    assert shard_sizes({"min": 100, "max": 1000, "factor": 3}, "shards") == [100, 300, 900, 1000]
    assert shard_sizes({"sizes": [10, 20, 50]}, "shards") == [10, 20, 50]
    with pytest.raises(ConfigError, match="strictly increasing"):
        shard_sizes({"sizes": [10, 10, 50]}, "shards")


def test_teacher_shards_are_nested_and_deterministic():
    ds = make_dataset("teacher", {"input_dim": 5, "pool_size": 50000}, seed=3)
    big, small = ds.shard(9000), ds.shard(5000)  # crosses a generation chunk boundary
    assert big.x.shape == (9000, 5) and big.y.shape == (9000, 1)
    np.testing.assert_array_equal(big.x[:5000], small.x)
    np.testing.assert_array_equal(big.y[:5000], small.y)
    again = make_dataset("teacher", {"input_dim": 5, "pool_size": 50000}, seed=3).shard(5000)
    np.testing.assert_array_equal(again.x, small.x)
    other_seed = make_dataset("teacher", {"input_dim": 5, "pool_size": 50000}, seed=4).shard(5000)
    assert not np.allclose(other_seed.x, small.x)


def test_teacher_targets_have_unit_signal_and_configured_noise():
    ds = make_dataset("teacher", {"input_dim": 6, "noise_std": 0.2}, seed=0)
    split = ds.eval_splits()["test"]
    # the teacher's output is standardised, so var(y) = 1 + noise variance
    assert split.y.var() == pytest.approx(1.04, abs=0.08)
    val = ds.eval_splits()["val"]
    assert not np.allclose(val.x[:10], split.x[:10])  # independent streams


def test_growing_the_pool_keeps_shard_identity():
    small = make_dataset("teacher", {"pool_size": 10000}, seed=0)
    large = make_dataset("teacher", {"pool_size": 2_000_000}, seed=0)
    assert small.shard_identity(4096) == large.shard_identity(4096)
    assert small.shard_identity(4096) != small.shard_identity(8192)
    np.testing.assert_array_equal(small.shard(4096).x, large.shard(4096).x)


def test_shard_larger_than_pool_is_an_error_naming_the_field():
    ds = make_dataset("teacher", {"pool_size": 1000}, seed=0)
    with pytest.raises(DataError, match="shard size 2000 is larger than dataset 'teacher' pool of 1000"):
        ds.shard(2000)


def test_study_assigns_distinct_identities():
    config = {
        "study": "s",
        "datasets": {"teacher": {}},
        "models": {"mlp": {"sizes": [4, 8]}},
        "shards": {"min": 64, "max": 256},
        "training": {"seeds": 2, "learning_rates": [0.01]},
    }
    study = Study(config)
    assert len(study.shards) == 3 and len(study.jobs) == 6
    assert len({j.key for j in study.jobs.values()}) == 6
    # the same config always gives the same identities
    assert set(Study(config).jobs) == set(study.jobs)


@pytest.mark.skipif(not __import__("os").path.isdir(DEFAULT_ROOT), reason="dataset-fashion-mnist is not installed")
def test_fashion_mnist_pool_validation_and_test_split():
    ds = make_dataset("fashion-mnist", {}, seed=0)
    assert ds.pool_size == 50000
    a, b = ds.shard(2000), ds.shard(1000)
    np.testing.assert_array_equal(a.x[:1000], b.x)
    assert a.x.shape == (2000, 1, 28, 28) and a.y.dtype == np.int64
    splits = ds.eval_splits()
    assert len(splits["val"]) == 10000 and len(splits["test"]) == 10000
    assert abs(float(a.x.mean())) < 0.1  # standardised pixels
    assert sorted(np.unique(splits["test"].y)) == list(range(10))


def test_missing_fashion_mnist_says_how_to_install(tmp_path):
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        make_dataset("fashion-mnist", {"root": str(tmp_path)}, seed=0)
