import copy

import pytest
import yaml

from conftest import REPO, TINY_CONFIG, make_checkout, snakemake
from scalinglaws.study import ConfigError, Study, validate_config


def test_default_config_is_valid_and_meets_the_default_study_card():
    config = validate_config(yaml.safe_load((REPO / "config.yaml").read_text()))
    study = Study(config)
    (dataset,) = study.datasets
    sizes = study.shard_sizes_for(dataset)
    assert len(sizes) >= 7 and all(b == 2 * a for a, b in zip(sizes, sizes[1:]))
    assert len(config["models"]["mlp"]["sizes"]) >= 4
    assert len(study.train_spec.seeds) >= 3 and len(study.train_spec.learning_rates) >= 3


def test_defaults_are_filled_in():
    config = validate_config(TINY_CONFIG)
    assert config["store"] == "results/store" and config["fit"]["target"] == "test"
    assert config["training"]["weight_decay"] == 0


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["training"].update(lerning_rate=0.1), r"'training'.*'lerning_rate' was unexpected"),
        (lambda c: c["training"].update(learning_rates=[0.01, -1]), r"'training.learning_rates.1'.*-1"),
        (lambda c: c["shards"].update(factor=1), r"'shards.factor'.*1"),
        (lambda c: c.update(device="tpu"), r"'device'.*'tpu'"),
        (lambda c: c.pop("models"), r"'models' is a required property"),
        (lambda c: c["models"]["mlp"].update(sizes=[]), r"'models.mlp.sizes'"),
    ],
)
def test_bad_values_name_the_key(mutate, message):
    config = copy.deepcopy(TINY_CONFIG)
    mutate(config)
    with pytest.raises(ConfigError, match=message):
        Study(config)


def test_unknown_dataset_and_family_are_named():
    config = copy.deepcopy(TINY_CONFIG)
    config["datasets"] = {"imagenet": {}}
    with pytest.raises(ConfigError, match="datasets.imagenet.type: unknown dataset 'imagenet'"):
        Study(config)
    config = copy.deepcopy(TINY_CONFIG)
    config["models"] = {"resnet": {"sizes": [4]}}
    with pytest.raises(ConfigError, match="models.resnet.type: unknown model family 'resnet'"):
        Study(config)


def test_shard_larger_than_pool_fails_at_config_time():
    config = copy.deepcopy(TINY_CONFIG)
    config["datasets"]["teacher"]["pool_size"] = 500
    with pytest.raises(ConfigError, match="shard size 512 is larger than dataset 'teacher' pool of 500"):
        Study(config)


@pytest.mark.e2e
def test_snakemake_rejects_a_bad_config_before_any_job(tmp_path):
    config = copy.deepcopy(TINY_CONFIG)
    config["training"]["batch_sise"] = 64
    work = make_checkout(tmp_path, config)
    proc = snakemake(work, check=False)
    assert proc.returncode != 0
    assert "'batch_sise' was unexpected" in proc.stdout
    assert not (work / "results").exists()  # nothing ran
