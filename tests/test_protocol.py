"""The training protocol: learning-rate schedules, budgets that extend while a member still
improves, a learning-rate grid that grows beyond its edge, and the `limited_by` flags that say
when a point is short of what its model can do (issue 14)."""

import numpy as np
import pandas as pd
import pytest
import torch

from scalinglaws.aggregate.diagnostics import point_limits, with_lr_edges
from scalinglaws.train.ensemble import EarlyStopping
from scalinglaws.train.schedule import FLOOR, Schedule
from scalinglaws.train.trainer import EnsembleJob, TrainOptions, TrainSpec, train_ensemble
from scalinglaws.train.tuning import next_learning_rate, train_with_lr_search

torch.set_num_threads(1)


def spec(**kw):
    base = dict(
        seeds=[0, 1], learning_rates=[0.01], batch_size=64, min_steps=100, max_steps=100, eval_every=25, patience=4
    )
    return TrainSpec(**{**base, **kw})


def job(train_spec):
    return EnsembleJob("mlp", 16, {"depth": 2}, "regression", 1, train_spec)


# -- schedules ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_decaying_schedules_fall_from_the_peak_to_the_floor_after_warm_up(kind):
    s = Schedule(kind, warmup=0.1, budget=1000)
    f = s.factor(torch.tensor([1.0, 50.0, 100.0, 550.0, 1000.0, 5000.0])).numpy()
    assert f[0] == pytest.approx(0.01) and f[1] == pytest.approx(0.5) and f[2] == pytest.approx(1.0)
    assert f[3] == pytest.approx(FLOOR + (1 - FLOOR) * 0.5)  # half way through the decay, for both
    assert f[4] == pytest.approx(FLOOR) and f[5] == pytest.approx(FLOOR)  # an extended member stays at the floor
    assert Schedule("constant", 0.0, 1000).is_constant and not Schedule("constant", 0.1, 1000).is_constant
    with pytest.raises(ValueError, match="training.schedule"):
        Schedule("exponential", 0.0, 10)


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_fast_path_follows_the_reference_under_a_schedule(teacher, kind):
    """The fast path's factor is computed on the device from its own step counter: same curve."""
    s = spec(learning_rates=[0.003, 0.03], schedule=kind, warmup=0.2, min_steps=200, max_steps=200, patience=100)
    curves = {}
    for fast in (False, True):
        history = []
        runs = train_ensemble(job(s), teacher, "cpu", TrainOptions(fast=fast, history=history))
        curves[fast] = (np.array([v for _, v in history]), runs)
    np.testing.assert_allclose(curves[True][0], curves[False][0], rtol=2e-4)
    constant = train_ensemble(
        job(spec(learning_rates=[0.003, 0.03], min_steps=200, max_steps=200, patience=100)), teacher, "cpu"
    )
    assert [r["val_loss"] for r in curves[False][1]] != [r["val_loss"] for r in constant]  # the schedule acts


# -- budgets ------------------------------------------------------------------------------------
def test_end_of_budget_extends_only_members_still_improving():
    stop = EarlyStopping([torch.zeros(4, 3)], torch.ones(4), patience=5)
    stop.budget.fill_(100)
    stop.best_step.copy_(torch.tensor([100, 90, 50, 100]))
    stop.active.copy_(torch.tensor([1.0, 1.0, 1.0, 0.0]))  # member 3 was stopped early before
    assert stop.end_of_budget(100, ceiling=300) == 200
    assert stop.budget.tolist() == [200, 200, 100, 100]
    assert stop.active.tolist() == [1.0, 1.0, 0.0, 0.0] and stop.ran_out.tolist() == [False, False, True, False]
    stop.best_step.copy_(torch.tensor([200, 150, 50, 100]))
    assert stop.end_of_budget(200, ceiling=300) == 300  # at most the ceiling
    assert stop.budget.tolist() == [300, 200, 100, 100] and stop.ran_out.tolist() == [False, True, True, False]
    stop.best_step[0] = 300
    assert stop.end_of_budget(300, ceiling=300) == 300  # the ceiling: nobody continues
    assert stop.ran_out.tolist() == [True, True, True, False] and not stop.active.any()


def test_a_short_budget_is_flagged_and_the_ceiling_removes_the_limit(teacher):
    short = spec(min_steps=50, max_steps=50, epochs=1, patience=3)
    flagged = train_ensemble(job(short), teacher, "cpu")
    assert all(r["limited_by"] == "min_steps" and r["stopped_by"] == "budget" for r in flagged)
    extended = train_ensemble(
        job(spec(min_steps=50, max_steps=50, epochs=1, patience=3, ceiling_epochs=200)), teacher, "cpu"
    )
    for before, after in zip(flagged, extended):
        assert after["limited_by"] == "none" and after["stopped_by"] == "early_stopping"
        assert after["budget"] > 50 and after["best_step"] > 50
        assert after["val_loss"] < before["val_loss"]


def test_patience_in_epochs_grows_with_the_shard_and_is_left_out_of_identity_when_unset():
    """8 evaluations of 50 steps are 6 epochs of 16,384 examples (batch 256) but 1.6 of 65,536:
    `patience_epochs` keeps at least that many epochs at every shard."""
    s = TrainSpec(seeds=[0], learning_rates=[0.01], batch_size=256, eval_every=50, patience=8, patience_epochs=6)
    assert [s.patience_for(n) for n in (256, 16384, 32768, 65536)] == [8, 8, 16, 31]
    unset = TrainSpec(seeds=[0], learning_rates=[0.01], patience=8)
    assert unset.patience_for(65536) == 8 and "patience_epochs" not in unset.identity()
    assert s.identity()["patience_epochs"] == 6


def test_patience_in_epochs_keeps_members_training_past_a_short_patience(teacher):
    short = train_ensemble(job(spec(min_steps=100, max_steps=3000, patience=1)), teacher, "cpu")
    longer = train_ensemble(job(spec(min_steps=100, max_steps=3000, patience=1, patience_epochs=40)), teacher, "cpu")
    # 512 examples, batch 64: 40 epochs are 320 steps, 13 evaluations of 25 steps
    for a, b in zip(short, longer):
        assert a["stopped_by"] == "early_stopping" and b["steps"] >= a["best_step"] + 13 * 25 > a["steps"]


def test_an_extended_member_does_not_depend_on_its_ensemble_mates(teacher):
    both = train_ensemble(job(spec(seeds=[0, 1], min_steps=50, max_steps=50, ceiling_epochs=200)), teacher, "cpu")
    alone = train_ensemble(job(spec(seeds=[1], min_steps=50, max_steps=50, ceiling_epochs=200)), teacher, "cpu")
    # the same decisions; the numbers agree up to the float noise of batching 1 or 2 members (over ~500 steps)
    assert alone[0]["budget"] == both[1]["budget"] > 50 and alone[0]["best_step"] == both[1]["best_step"]
    assert alone[0]["val_loss"] == pytest.approx(both[1]["val_loss"], rel=1e-2)


# -- learning rates -----------------------------------------------------------------------------
def runs_at(losses: dict[float, float]) -> list[dict]:
    return [{"lr": lr, "val_metric": v, "diverged": False} for lr, v in losses.items()]


def test_next_learning_rate_goes_beyond_the_edge_while_inside_the_bounds():
    assert next_learning_rate(runs_at({0.01: 1.0, 0.03: 0.5}), 3.0, [1e-4, 1.0]) == 0.09
    assert next_learning_rate(runs_at({0.01: 0.4, 0.03: 0.5}), 3.0, [1e-4, 1.0]) == 0.00333333333333
    assert next_learning_rate(runs_at({0.01: 0.6, 0.03: 0.5, 0.1: 0.7}), 3.0, [1e-4, 1.0]) is None  # interior
    assert next_learning_rate(runs_at({0.01: 1.0, 0.3: 0.5}), 3.0, [1e-4, 0.5]) is None  # 0.9 is out of bounds
    assert next_learning_rate(runs_at({0.01: 1.0, 0.03: 0.5}), 3.0, None) is None  # no bounds: the grid only
    diverged = runs_at({0.01: 0.6, 0.03: 0.5}) + [{"lr": 0.03, "val_metric": None, "diverged": True}]
    assert next_learning_rate(diverged, 3.0, [1e-4, 1.0]) == 0.00333333333333  # a diverged member counts as worst


def test_an_off_centre_grid_grows_until_the_best_rate_is_interior(teacher):
    low = spec(learning_rates=[1e-4, 3e-4], lr_bounds=[1e-5, 1.0], min_steps=150, max_steps=150)
    runs = train_with_lr_search(job(low), teacher, "cpu", TrainOptions())
    lrs = sorted({r["lr"] for r in runs})
    assert lrs[:2] == [1e-4, 3e-4] and len(lrs) >= 4 and max(r["lr_round"] for r in runs) == len(lrs) - 2
    table = pd.DataFrame([{**r, "dataset": "d", "family": "f", "n": 512, "size": 16} for r in runs])
    flags = with_lr_edges(table)
    assert not flags.str.contains("lr_").any()  # the best rate is now interior
    grid_only = train_ensemble(job(spec(learning_rates=[1e-4, 3e-4], min_steps=150, max_steps=150)), teacher, "cpu")
    table = pd.DataFrame([{**r, "dataset": "d", "family": "f", "n": 512, "size": 16} for r in grid_only])
    assert all("lr_high_edge" in flag for flag in with_lr_edges(table)[table["lr"] == 3e-4])


def test_a_point_carries_its_runs_flags_and_the_size_grid_edges():
    won = pd.DataFrame({"limited_by": ["none", "step_budget"]})
    assert point_limits(won, best_size=16, sizes=[4, 16, 64]) == "step_budget"
    assert point_limits(won.iloc[:1], best_size=64, sizes=[4, 16, 64]) == "size_edge"
    assert point_limits(won.iloc[:1], best_size=16, sizes=[4, 16, 64]) == "none"


# -- what the fit and the figure say about limited points ---------------------------------------
def synthetic_runs() -> pd.DataFrame:
    """A clean power-law curve over 6 shards, three sizes (the middle one is as good as the largest,
    so the best size is interior), two learning rates, three seeds; the runs at n=2048 stopped
    while still improving (step_budget)."""
    rng = np.random.default_rng(0)
    rows = []
    for n in [256, 512, 1024, 2048, 4096, 8192]:
        for size, params in ((8, 100), (32, 1000), (128, 10000)):
            for lr in (0.001, 0.003, 0.01):
                for seed in range(3):
                    err = (2.0 * n**-0.5 + 0.01) * (1.1 if size == 8 else 1.0) * (1.02 if lr != 0.003 else 1.0)
                    err *= 1 + 0.01 * rng.standard_normal()
                    rows.append(
                        {
                            "dataset": "d",
                            "family": "f",
                            "size": size,
                            "params": params,
                            "n": n,
                            "seed": seed,
                            "lr": lr,
                            "val_metric": err,
                            "test_metric": err,
                            "diverged": False,
                            "metric": "mse",
                            "best_step": 100,
                            "budget": 200,
                            "limited_by": "step_budget" if n == 2048 else "none",
                        }
                    )
    return pd.DataFrame(rows)


def test_the_fit_warns_about_fitted_limited_points_and_the_figure_marks_them(tmp_path):
    from scalinglaws.aggregate.curves import learning_curve
    from scalinglaws.fit.study import StudyFit, fit_study
    from scalinglaws.report.figures import learning_curve_figure

    runs = synthetic_runs()
    fits = fit_study(runs, StudyFit(replicates=20, laws=("power",)))
    fit = fits["d/f"]
    assert fit["limited_points"] == {"2048": "step_budget"}
    assert any("n=2048 (step_budget)" in w for w in fit["power"]["warnings"])
    clean = fit_study(runs.assign(limited_by="none"), StudyFit(replicates=20, laws=("power",)))["d/f"]
    assert clean["limited_points"] == {} and not any("limited" in w for w in clean["power"]["warnings"])
    curve = learning_curve(runs)
    labels = [t.get_text() for t in learning_curve_figure(curve, fit, "d / f").axes[0].get_legend().get_texts()]
    assert any("limited by the protocol" in label for label in labels)
    labels = [
        t.get_text()
        for t in learning_curve_figure(curve.assign(limited_by="none"), fit, "d / f").axes[0].get_legend().get_texts()
    ]
    assert not any("limited" in label for label in labels)
