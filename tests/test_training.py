import math

import numpy as np
import pytest
import torch

from scalinglaws.models import build_ensemble
from scalinglaws.train.trainer import EnsembleJob, TrainSpec, train_ensemble

torch.set_num_threads(1)


def run(data, seeds, lrs, **kw):
    train, val, test = data
    spec = TrainSpec(
        seeds=seeds, learning_rates=lrs, batch_size=64, min_steps=150, max_steps=150, eval_every=25, patience=100, **kw
    )
    return train_ensemble(EnsembleJob("mlp", 16, {"depth": 2}, "regression", 1, spec), (train, val, test), "cpu")


def test_batched_ensemble_equals_members_trained_one_by_one(teacher):
    seeds, lrs = [0, 1], [0.003, 0.03]
    together = run(teacher, seeds, lrs)
    assert [(r["seed"], r["lr"]) for r in together] == [(s, lr) for s in seeds for lr in lrs]
    for r in together:
        alone = run(teacher, [r["seed"]], [r["lr"]])[0]
        for key in ("val_loss", "test_loss", "train_loss"):
            assert alone[key] == pytest.approx(r[key], rel=1e-4), (r["seed"], r["lr"], key)
        assert alone["best_step"] == r["best_step"]


def test_training_reduces_error_and_records_metrics(teacher):
    runs = run(teacher, [0], [0.01])
    r = runs[0]
    assert r["test_loss"] < 0.6  # the untrained student predicts ~0; var(y) is ~1
    assert r["val_metric"] == r["val_loss"]  # regression: the metric is the MSE
    assert r["params"] == (4 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    assert r["steps"] == 150 and not r["diverged"] and r["wall_time_s"] > 0
    assert r["flops"] == 6.0 * r["params"] * 64 * 150


def test_divergent_member_is_flagged_not_fatal(teacher):
    runs = run(teacher, [0], [0.01, 1e4])
    ok, blown = runs
    assert not ok["diverged"] and blown["diverged"]
    assert ok["test_loss"] < 0.6


def test_early_stopping_keeps_best_validation_weights(teacher):
    train, val, test = teacher
    spec = TrainSpec(
        seeds=[0], learning_rates=[0.01], batch_size=64, min_steps=2000, max_steps=2000, eval_every=25, patience=3
    )
    r = train_ensemble(EnsembleJob("mlp", 16, {}, "regression", 1, spec), (train, val, test), "cpu")[0]
    assert r["steps"] < 2000  # stopped early
    assert r["best_step"] <= r["steps"] - 3 * 25


def test_classification_reports_error_rate():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 1, 4, 4)).astype(np.float32)
    y = (x.reshape(600, -1).sum(1) > 0).astype(np.int64)
    from scalinglaws.datasets import Split

    tr, va, te = Split(x[:400], y[:400]), Split(x[400:500], y[400:500]), Split(x[500:], y[500:])
    spec = TrainSpec(seeds=[0], learning_rates=[0.01], batch_size=64, min_steps=200, max_steps=200, eval_every=50)
    r = train_ensemble(EnsembleJob("mlp", 16, {}, "classification", 2, spec), (tr, va, te), "cpu")[0]
    assert 0.0 <= r["test_metric"] < 0.2  # a linearly separable rule is learned
    assert r["test_metric"] != r["test_loss"]


def test_members_get_independent_initialisations():
    model = build_ensemble("mlp", [0, 1, 0], 8, (3,), 1, {})
    w = model.layers[0].weight
    assert not torch.allclose(w[0], w[1])
    assert torch.equal(w[0], w[2])  # same seed, same init, whatever the ensemble
    assert model.param_count() == (3 * 8 + 8) + (8 * 8 + 8) + (8 + 1)
    assert math.isclose(float(w[0].detach().std()), math.sqrt(2 / 3), rel_tol=0.5)


def test_the_trainer_logs_progress_a_user_can_follow(teacher, capsys, monkeypatch):
    from scalinglaws.train import trainer

    monkeypatch.setattr(trainer.Progress, "LOG_EVERY_S", 0.0)  # a line after every evaluation
    run(teacher, [0], [0.01])
    lines = [line for line in capsys.readouterr().err.splitlines() if " of 150, " in line]
    assert len(lines) == 150 // 25
    assert lines[-1].startswith("scalinglaws: step 150 of 150, ") and "best validation loss" in lines[-1]
    assert "s elapsed" in lines[0] and "s left" in lines[0]
