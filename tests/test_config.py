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
        (
            lambda c: c["training"].update(lerning_rate=0.1),
            r"unknown key 'training.lerning_rate' \(did you mean 'learning_rates'\?\)",
        ),
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


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda c: c["datasets"]["teacher"].update(noise_std=-0.1),
            "my.yaml: invalid value at 'datasets.teacher.noise_std': -0.1 is less than the minimum of 0",
        ),
        (
            lambda c: c["models"]["mlp"].update(sizes=[16, 16, 32]),
            "my.yaml: invalid value at 'models.mlp.sizes': [16, 16, 32] has non-unique elements",
        ),
        (lambda c: c.update(shard=c.pop("shards")), "my.yaml: unknown key 'shard' (did you mean 'shards'?)"),
        (lambda c: c["shards"].update(min=2000), "my.yaml: shards: max (1024) is smaller than min (2000)"),
        (
            lambda c: c.update(shards={"sizes": [64, 32]}),
            "my.yaml: shards: shard sizes must be strictly increasing, got [64, 32]",
        ),
    ],
)
def test_config_gaps_of_issue_25_are_one_line_naming_the_file(mutate, message):
    """Issue 25 item 9: a negative noise_std was accepted (and would retrain every job), duplicate
    sizes silently, a schedule error did not name the file, and a top-level typo `shard:` was
    reported as "'shards' is a required property"."""
    config = copy.deepcopy(TINY_CONFIG)
    mutate(config)
    with pytest.raises(ConfigError) as error:
        Study(config, source="my.yaml")
    assert str(error.value) == message


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
    assert "config.yaml: unknown key 'training.batch_sise' (did you mean 'batch_size'?)" in proc.stdout
    assert not (work / "results").exists()  # nothing ran
