"""The cooldown after the constant-rate loop (warmup-stable-decay) and the `optimizer` flag that
its probe feeds (issue 27): the rate reaches 0 at each member's own end, the cooldown starts
from the best constant-rate state, off changes nothing, and both step loops agree."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import TINY_CONFIG
from scalinglaws.aggregate.diagnostics import point_limits, probe_gain
from scalinglaws.errors import ConfigError
from scalinglaws.study import Study
from scalinglaws.train import schedule
from scalinglaws.train.schedule import Anneal
from scalinglaws.train.trainer import EnsembleJob, TrainOptions, TrainSpec, train_ensemble

torch.set_num_threads(1)


def job(**kw):
    base = dict(seeds=[0, 1], learning_rates=[0.01, 0.1], batch_size=64, min_steps=150, max_steps=150)
    spec = TrainSpec(**{**base, "eval_every": 25, "patience": 2, **kw})
    return EnsembleJob("mlp", 16, {"depth": 2}, "regression", 1, spec)


def test_the_anneal_decays_each_member_to_zero_at_its_own_end():
    anneal = Anneal(torch.tensor([4, 2, 0]), torch.tensor([1.0, 0.5, 1.0]))
    base, out = torch.ones(3), torch.empty(3)
    seen = [anneal.apply(base, out).tolist() for _ in range(anneal.steps)]
    assert anneal.steps == 4
    np.testing.assert_allclose(seen, [[0.75, 0.25, 0], [0.5, 0, 0], [0.25, 0, 0], [0, 0, 0]])


def test_the_cooldown_starts_from_the_best_state_and_its_rate_ends_at_zero(teacher, monkeypatch):
    factors = []
    apply = Anneal.apply

    def recording(self, base, out):
        result = apply(self, base, out)
        factors.append((self.lengths.clone(), self.factor().clone()))
        return result

    monkeypatch.setattr(schedule.Anneal, "apply", recording)
    off = train_ensemble(job(), teacher, "cpu")
    factors.clear()
    on = train_ensemble(job(cooldown=0.4), teacher, "cpu")
    cooldown = factors[: max(r["cooldown_steps"] for r in on)]  # the probe's steps follow
    for e, (r, before) in enumerate(zip(on, off)):
        assert r["best_step"] < 150 or r["budget"] == 150  # early stopping as before: the main loop is untouched
        assert (r["best_step"], r["budget"], r["stopped_by"]) == (
            before["best_step"],
            before["budget"],
            before["stopped_by"],
        )
        assert r["val_constant"] == before["val_metric"]  # it started from the best constant-rate state
        assert r["val_metric"] <= r["val_constant"]  # and keeps the better on validation
        assert r["cooldown_steps"] == round(0.4 * r["best_step"])
        steps = r["cooldown_steps"]
        assert cooldown[steps - 1][1][e] == 0 and (steps == 1 or cooldown[steps - 2][1][e] > 0)
        assert cooldown[0][1][e] == pytest.approx(1 - 1 / steps)  # from the full rate, linearly
    assert any(r["val_metric"] < r["val_constant"] for r in on)  # the cooldown does something here


def test_off_is_the_loop_of_before_and_the_probe_changes_no_reported_number(teacher):
    unset, zero = train_ensemble(job(), teacher, "cpu"), train_ensemble(job(cooldown=0.0), teacher, "cpu")
    for a, b in zip(unset, zero):
        assert {k: v for k, v in a.items() if k != "wall_time_s"} == {k: v for k, v in b.items() if k != "wall_time_s"}
        assert a["cooldown_steps"] == 0 and a["val_constant"] == a["val_metric"]
        assert a["val_probe"] is not None and a["val_probe"] != a["val_metric"]  # the probe trained


def test_both_step_loops_cool_down_alike(teacher):
    ref = train_ensemble(job(cooldown=0.3), teacher, "cpu", TrainOptions(fast=False))
    fast = train_ensemble(job(cooldown=0.3), teacher, "cpu", TrainOptions(fast=True))
    for a, b in zip(ref, fast):
        assert a["cooldown_steps"] == b["cooldown_steps"] > 0
        assert a["val_metric"] == pytest.approx(b["val_metric"], rel=1e-4)
        assert a["val_probe"] == pytest.approx(b["val_probe"], rel=1e-4)


def winners(val, probe):
    return pd.DataFrame({"val_metric": val, "val_probe": probe, "limited_by": "none"})


def test_the_optimizer_flag_needs_a_probe_gain_beyond_the_seed_noise():
    noisy = winners([0.020, 0.022, 0.018], [0.0195, 0.0215, 0.0175])  # gains 0.0005, se 0.00115
    assert point_limits(noisy, 16, [8, 16, 32]) == "none"
    tight = winners([0.0200, 0.0201, 0.0199], [0.0190, 0.0191, 0.0189])  # gains 0.001, se 0.00006
    assert point_limits(tight, 16, [8, 16, 32]) == "optimizer"
    assert point_limits(tight, 32, [8, 16, 32]) == "size_edge+optimizer"
    gain, noise = probe_gain(tight)
    assert gain == pytest.approx(0.001) and noise == pytest.approx(0.0001 / np.sqrt(3))
    old = pd.DataFrame({"val_metric": [0.02, 0.03], "limited_by": "none"})  # records from before the probe
    assert point_limits(old, 16, [8, 16, 32]) == "none" and np.isnan(probe_gain(old)[0])
    assert point_limits(winners([0.02], [0.01]), 16, [8, 16, 32]) == "none"  # one seed: no noise to compare


def test_the_cooldown_key_is_checked_and_off_keeps_every_job_identity():
    tiny_config = copy.deepcopy(TINY_CONFIG)
    keys = set(Study(tiny_config).jobs)
    for off in (None, 0):
        config = {**tiny_config, "training": {**tiny_config["training"], "cooldown": off}}
        assert set(Study(config).jobs) == keys
    on = Study({**tiny_config, "training": {**tiny_config["training"], "cooldown": 0.2}})
    assert on.train_spec.cooldown == 0.2 and not set(on.jobs) & keys
    for bad in (-0.1, 1.5, "long"):
        with pytest.raises(ConfigError, match="training.cooldown"):
            Study({**tiny_config, "training": {**tiny_config["training"], "cooldown": bad}})
