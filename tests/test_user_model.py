"""A user's own PyTorch model (`models.<name>.type: "my_model.py:build"`): trained as a batched
ensemble on both step loops, its file part of its jobs' identity, its mistakes one line each."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

from conftest import REPO, TINY_CONFIG, job_counts, make_checkout, snakemake
from scalinglaws.errors import ConfigError
from scalinglaws.models import build_ensemble
from scalinglaws.study import Study
from scalinglaws.train.trainer import EnsembleJob, TrainOptions, TrainSpec, train_ensemble

torch.set_num_threads(1)

MY_MODEL = '''
import torch
from torch import nn


def build(size, input_shape, num_outputs, depth=1, dropout=0.0):
    """A plain MLP, as a user would write it."""
    layers, width = [nn.Flatten()], 1
    for d in input_shape:
        width *= d
    for _ in range(depth):
        layers += [nn.Linear(width, size), nn.Tanh(), nn.Dropout(dropout)]
        width = size
    layers.append(nn.Linear(width, num_outputs))
    return nn.Sequential(*layers)
'''

TINY_LM = """
import torch
from torch import nn


class TinyLM(nn.Module):
    def __init__(self, width, vocab):
        super().__init__()
        self.embed, self.out = nn.Embedding(vocab, width), nn.Linear(width, vocab)

    def forward(self, tokens):
        return self.out(torch.tanh(self.embed(tokens)))


def build(size, input_shape, num_outputs):
    return TinyLM(size, num_outputs)
"""


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """The working directory a user runs Snakemake in, with their model file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_model.py").write_text(MY_MODEL)
    return tmp_path


def run(data, seeds, lrs, fast=False, options=None):
    spec = TrainSpec(
        seeds=seeds, learning_rates=lrs, batch_size=64, min_steps=100, max_steps=100, eval_every=25, patience=100
    )
    job = EnsembleJob("my_model.py:build", 8, options or {"depth": 2}, "regression", 1, spec)
    return train_ensemble(job, data, "cpu", TrainOptions(fast=fast))


def test_members_of_a_user_ensemble_equal_the_models_trained_one_by_one(in_tmp, teacher):
    seeds, lrs = [0, 1], [0.003, 0.03]
    together = run(teacher, seeds, lrs)
    assert len({r["val_loss"] for r in together}) == 4  # seeds give different inits, rates different paths
    for r in together:
        alone = run(teacher, [r["seed"]], [r["lr"]])[0]
        for key in ("val_loss", "test_loss", "train_loss"):
            assert alone[key] == pytest.approx(r[key], rel=1e-4), (r["seed"], r["lr"], key)
    # parameters counted from the module (4 -> 8 -> 8 -> 1); FLOPs 6 per parameter per example
    params = 4 * 8 + 8 + 8 * 8 + 8 + 8 + 1
    r = together[0]
    assert r["params"] == params and r["flops"] == 6 * params * r["batch_size"] * r["steps"]
    assert together[0]["test_loss"] < 0.8  # it learned: the untrained model predicts ~0 on var(y) ~1


def test_the_fast_step_loop_trains_a_user_module_as_the_reference_loop_does(in_tmp, teacher):
    reference = run(teacher, [0, 1], [0.01], fast=False)
    fast = run(teacher, [0, 1], [0.01], fast=True)
    for a, b in zip(reference, fast):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)


def test_a_members_initialisation_follows_its_seed_alone(in_tmp):
    from scalinglaws.models.user import build_member, member_init_seed
    from scalinglaws.userfile import load_attr

    pair = build_ensemble("my_model.py:build", [5, 9], 8, (4,), 1, {}, "regression")
    single = build_ensemble("my_model.py:build", [9], 8, (4,), 1, {}, "regression")
    for (name, stacked), (_, alone) in zip(pair.named_parameters(), single.named_parameters()):
        assert torch.equal(stacked[1], alone[0]), name
    build, _ = load_attr("my_model.py:build", "models.x.type", ValueError)
    first = next(build_member(build, 9, 8, (4,), 1, {}).parameters())
    assert torch.equal(first, pair.get_parameter("1__weight")[1]) and member_init_seed(5) != member_init_seed(9)


def test_dropout_is_off_when_evaluating(in_tmp, teacher):
    ensemble = build_ensemble("my_model.py:build", [0], 8, (4,), 1, {"dropout": 0.5}, "regression")
    x = torch.randn(1, 16, 4)
    assert not torch.equal(ensemble(x), ensemble(x))  # training mode: dropout draws masks
    from scalinglaws.train.metrics import evaluate

    first = evaluate(ensemble, x[0], torch.zeros(16, 1), "regression", 16)[0]
    assert torch.equal(first, evaluate(ensemble, x[0], torch.zeros(16, 1), "regression", 16)[0])
    assert ensemble.training  # and back to training afterwards


def test_each_member_computes_what_its_own_module_computes_tied_weights_included(monkeypatch):
    """examples/gpt.py ties its output layer to the token embedding: the ensemble keeps the tie."""
    from scalinglaws.models.user import build_member
    from scalinglaws.userfile import load_attr

    monkeypatch.chdir(REPO)
    build, _ = load_attr("examples/gpt.py:build", "models.gpt.type", ValueError)
    options = {"depth": 1, "head_dim": 16}
    ensemble = build_ensemble("examples/gpt.py:build", [3, 4], 32, (8,), 256, options, "lm")
    tokens = torch.randint(0, 256, (2, 5, 8))
    out = ensemble(tokens)
    for e, seed in enumerate([3, 4]):
        alone = build_member(build, seed, 32, (8,), 256, options)
        torch.testing.assert_close(out[e], alone(tokens[e]))
    out.sum().backward()  # the head's gradient reaches the stacked embedding
    assert ensemble.get_parameter("token__weight").grad.abs().sum() > 0


def test_a_language_model_gets_int64_tokens_and_counts_flops_per_token(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("lm.py").write_text(TINY_LM)
    ensemble = build_ensemble("lm.py:build", [0, 1], 16, (12,), 256, {}, "lm")
    out = ensemble(torch.randint(0, 256, (2, 3, 12), dtype=torch.uint8))
    assert out.shape == (2, 3, 12, 256)
    params = 256 * 16 + 16 * 256 + 256
    assert ensemble.param_count() == params and ensemble.flops_per_example() == 6 * params * 12


def _config(**model) -> dict:
    config = {**TINY_CONFIG, "study": "mine", "models": {"mlp": {"sizes": [4]}, "mine": {"sizes": [4], **model}}}
    config["shards"] = {"sizes": [128, 256, 512]}
    config["training"] = {**TINY_CONFIG["training"], "seeds": 1, "min_steps": 30, "max_steps": 30}
    config["fit"] = {"bootstrap": 20, "laws": ["power-pure"]}  # 2 parameters: 3 points do
    return config


def test_the_model_file_is_part_of_its_jobs_identity_and_only_theirs(in_tmp):
    config = _config(type="my_model.py:build")
    before = Study(config)
    mine = {k for k, j in before.jobs.items() if j.family == "mine"}
    assert len(mine) == 3 and len(before.jobs) == 6
    (in_tmp / "my_model.py").write_text(MY_MODEL + "\n# a comment changes nothing\n")
    assert set(Study(config).jobs) == set(before.jobs)
    (in_tmp / "my_model.py").write_text(MY_MODEL.replace("nn.Tanh()", "nn.ReLU()"))
    after = set(Study(config).jobs)
    assert after & set(before.jobs) == set(before.jobs) - mine  # the mlp's jobs keep their keys


BAD = {
    "missing.py:build": r"models.mine.type: file missing.py not found",
    "my_model.py:nope": r"models.mine.type: my_model.py has no 'nope'",
    "bad.py:not_callable": r"models.mine.type: bad.py:not_callable is not a function",
    "bad.py:raises": r"models.mine.type: bad.py:raises at size 4 raised ValueError: width 4 is odd",
    "bad.py:not_a_module": r"models.mine.type: bad.py:not_a_module returned int at size 4, not a torch.nn.Module",
    "bad.py:wrong_shape": r"models.mine.type: bad.py:wrong_shape at size 4 gives outputs of shape \(2, 3\) for "
    r"inputs of shape \(2, 4\); expected \(2, 1\)",
    "bad.py:varies": r"models.mine.type: bad.py:varies at size 4 as an ensemble raised",
}

BAD_FILE = """
import torch
not_callable = 3
def raises(size, input_shape, num_outputs):
    raise ValueError(f"width {size} is odd")
def not_a_module(size, input_shape, num_outputs):
    return 3
def wrong_shape(size, input_shape, num_outputs):
    return torch.nn.Linear(input_shape[0], 3)
calls = []
def varies(size, input_shape, num_outputs):  # each call a wider model: members cannot be stacked
    calls.append(1)
    return torch.nn.Sequential(torch.nn.Linear(input_shape[0], len(calls)), torch.nn.Linear(len(calls), num_outputs))
"""


@pytest.mark.parametrize("kind", BAD)
def test_a_bad_model_is_one_line_naming_the_field_before_any_job(in_tmp, kind):
    (in_tmp / "bad.py").write_text(BAD_FILE)
    with pytest.raises(ConfigError, match=BAD[kind]) as err:
        Study(_config(type=kind))
    assert "\n" not in str(err.value)


STRIPES = '''
import numpy as np
from scalinglaws.datasets import Dataset, Split


class Stripes(Dataset):
    """8x8 images with a horizontal or a vertical bar in noise: which is it?"""
    task, metric, input_shape, num_outputs = "classification", "error", (1, 8, 8), 2

    @property
    def pool_size(self):
        return 4000

    def _draw(self, stream, n):
        rng = np.random.default_rng([self.seed, stream])
        x = rng.standard_normal((n, 1, 8, 8)).astype(np.float32) * 0.5
        y, at = rng.integers(0, 2, n), rng.integers(0, 8, n)
        for i in range(n):
            if y[i]:
                x[i, 0, :, at[i]] += 1.5
            else:
                x[i, 0, at[i], :] += 1.5
        return Split(x, y.astype(np.int64))

    def shard(self, n):
        self.check_shard(n)
        pool = self._draw(0, self.pool_size)
        return Split(pool.x[:n], pool.y[:n])

    def eval_splits(self):
        return {"val": self._draw(1, 256), "test": self._draw(2, 256)}
'''


@pytest.mark.e2e
def test_the_readme_cnn_trains_through_the_workflow_and_edits_rerun_exactly_its_jobs(tmp_path):
    """README's example (examples/cnn.py) beside a built-in MLP, on a user's image dataset."""
    assert (REPO / "examples" / "cnn.py").read_text().split('"""', 2)[2].strip() in (REPO / "README.md").read_text()
    config = _config(type="cnn.py:build", depth=1)
    config["datasets"] = {"stripes": {"type": "stripes.py:Stripes"}}
    work = make_checkout(tmp_path / "work", config)
    shutil.copy(REPO / "examples" / "cnn.py", work / "cnn.py")
    (work / "stripes.py").write_text(STRIPES)
    snakemake(work)
    runs = pd.read_csv(work / "results" / "mine" / "tables" / "runs.csv")
    mine = runs[runs.family == "mine"]
    assert len(mine) == 6 and set(mine.n) == {128, 256, 512}  # 3 shards x 2 learning rates
    assert set(mine.params) == {(9 + 1) * 4 + 4 * 4 * 4 * 2 + 2}  # conv 1->4 channels, then 4x4x4 -> 2
    assert mine[mine.n == 512].test_metric.min() < 0.2  # it learned: chance is 0.5
    (work / "cnn.py").write_text((work / "cnn.py").read_text().replace("nn.ReLU()", "nn.GELU()"))
    assert job_counts(snakemake(work, "-n").stdout)["train"] == 3  # its jobs, not the mlp's
