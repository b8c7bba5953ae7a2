"""Pruning: masks and IMP on real ensembles, the density laws' parameter recovery, the config
checks, and one tiny end-to-end Snakemake run with its cache."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from conftest import TINY_CONFIG, job_counts, make_checkout, snakemake
from scalinglaws.datasets import make_dataset
from scalinglaws.fit.backtest import backtest
from scalinglaws.fit.laws import make_law
from scalinglaws.fit.laws.pruning import _envelope
from scalinglaws.models import build_ensemble
from scalinglaws.study import ConfigError, Study
from scalinglaws.train.imp import (
    add_masks,
    density,
    iterative_magnitude_pruning,
    masks_of,
    prune,
)
from scalinglaws.train.spec import EnsembleJob, TrainSpec

PRUNING = {
    "points": [{"dataset": "teacher", "family": "mlp", "sizes": [4, 16], "n": 256}],
    "fraction": 0.5,
    "rewind_step": 25,
    "iterations": 3,
    "bootstrap": 20,
}


def _model():
    torch.manual_seed(0)
    return build_ensemble("mlp", [0, 1, 2], 8, (4,), 1, {"depth": 2})


def test_prune_removes_the_smallest_remaining_weights_per_member_and_layer():
    model = _model()
    add_masks(model)
    layer = model.layers[0]
    masks = prune(model, 0.25)
    w = layer.weight.detach().abs().reshape(3, -1)
    m = masks[0].reshape(3, -1)
    for e in range(3):
        kept, dropped = w[e][m[e] == 1], w[e][m[e] == 0]
        assert len(dropped) == round(0.25 * w.shape[1])
        assert dropped.max() <= kept.min()  # magnitude order, each member on its own
    assert not torch.equal(m[0], m[1])  # members' masks differ: their weights differ
    # a second round prunes only among survivors and the density compounds
    model2 = _model()
    add_masks(model2, masks)
    masks2 = prune(model2, 0.25)
    assert torch.all(masks2[0] <= masks[0])
    assert density(masks2) == pytest.approx(0.75 * 0.75, abs=0.02)


def test_masked_weights_get_no_gradient_and_the_optimiser_keeps_them_zero():
    from scalinglaws.train.ensemble import EnsembleAdam

    model = _model()
    add_masks(model)
    masks = prune(model, 0.5)
    model = _model()
    add_masks(model, masks)
    opt = EnsembleAdam(model.parameters(), torch.full((3,), 0.01))
    for _ in range(5):
        out = model(torch.randn(3, 16, 4))
        model.zero_grad(set_to_none=False)
        out.pow(2).mean().backward()
        opt.step(torch.ones(3))
    for layer, mask in zip(model.layers, masks_of(model)):
        assert torch.all(layer.weight[mask == 0] == 0)
        assert torch.all(layer.parametrizations.weight.original.grad[mask == 0] == 0)
    assert model.param_count() == _model().param_count()  # masks are buffers, not parameters


def test_imp_records_every_density_and_rewinds():
    ds = make_dataset(
        "teacher",
        {"input_dim": 4, "teacher_width": 16, "noise_std": 0.05, "pool_size": 10000, "val_size": 256, "test_size": 256},
        0,
    )
    ev = ds.eval_splits()
    spec = TrainSpec(
        seeds=[0, 1],
        learning_rates=[0.01],
        batch_size=64,
        epochs=5,
        min_steps=50,
        max_steps=50,
        eval_every=25,
        patience=3,
    )
    job = EnsembleJob("mlp", 16, {"depth": 2}, ds.task, 1, spec)
    settings = {"fraction": 0.6, "rewind_step": 25, "iterations": 3}
    rows = iterative_magnitude_pruning(job, (ds.shard(256), ev["val"], ev["test"]), settings, device="cpu")
    assert len(rows) == 2 * 4
    dens = sorted({r["density"] for r in rows}, reverse=True)
    assert dens[0] == 1.0 and len(dens) == 4
    assert dens[-1] == pytest.approx(0.4**3, rel=0.15)
    err = {r["iteration"]: r["test_metric"] for r in rows if r["seed"] == 0}
    assert err[3] > err[0]  # keeping 6% of the weights costs accuracy


def test_density_law_recovers_its_parameters():
    rng = np.random.default_rng(1)
    d = 0.7 ** np.arange(30)
    true = {"eps_np": 0.03, "eps_up": 0.8, "p": 0.02, "gamma": 1.3}
    y = _envelope(d, *true.values()) * np.exp(rng.normal(0, 0.01, len(d)))
    law = make_law("pruning").fit(d, y)
    for k, v in true.items():
        assert law.params_[k] == pytest.approx(v, rel=0.1), k
    # the three regions: the plateaus and the power law eps_up (p/d)^gamma between them
    assert law.predict([1.0])[0] == pytest.approx(0.03, rel=0.05)
    assert law.predict([1e-5])[0] == pytest.approx(0.8, rel=0.05)


def test_invariant_law_recovers_exponents_and_extrapolates_in_width():
    rng = np.random.default_rng(2)
    d = 0.6 ** np.arange(16)
    rows, ys = [], []
    for depth in (2, 4):
        for w in (8, 16, 32, 64, 128):
            eps_np = 0.4 * w**-0.5 + 0.01
            m = depth**0.7 * w**1.2 * d
            rows += [[dd, w, depth, eps_np] for dd in d]
            ys += list(_envelope(m, eps_np, 0.6, 0.3, 1.5) * np.exp(rng.normal(0, 0.01, len(d))))
    x, y = np.array(rows), np.array(ys)
    law = make_law("pruning-invariant").fit(x, y)
    assert law.params_["psi"] == pytest.approx(1.2, abs=0.1)
    assert law.params_["phi"] == pytest.approx(0.7, abs=0.15)
    assert law.params_["gamma"] == pytest.approx(1.5, rel=0.1)
    bt = backtest(law, x, y)
    assert bt["axis"] == "w" and bt["mean_rel_error"] < 0.05
    one_depth = make_law("pruning-invariant").fit(x[x[:, 2] == 2], y[x[:, 2] == 2])
    assert one_depth.fixed == {"phi": 0.0} and one_depth.refit(x[x[:, 2] == 2], y[x[:, 2] == 2]).fixed == {"phi": 0.0}


def test_pruning_points_must_be_trained_points_and_rewind_on_an_evaluation():
    config = {**copy.deepcopy(TINY_CONFIG), "pruning": copy.deepcopy(PRUNING)}
    jobs = Study(config).pruning_jobs()
    assert len(jobs) == 2 and {j.size for j in jobs.values()} == {4, 16}
    config["pruning"]["points"][0]["sizes"] = [5]
    with pytest.raises(ConfigError, match=r"pruning.points\[0\].*size 5"):
        Study(config).pruning_jobs()
    config["pruning"] = {**PRUNING, "rewind_step": 30}
    with pytest.raises(ConfigError, match="pruning.rewind_step: 30"):
        Study(config).pruning_jobs()
    # the key changes with the pruning settings, not with unrelated ones
    base = set(Study({**TINY_CONFIG, "pruning": PRUNING}).pruning_jobs())
    assert base != set(Study({**TINY_CONFIG, "pruning": {**PRUNING, "fraction": 0.4}}).pruning_jobs())
    assert base == set(Study({**TINY_CONFIG, "pruning": {**PRUNING, "bootstrap": 10}}).pruning_jobs())


@pytest.mark.e2e
def test_pruning_stage_end_to_end_and_cached(tmp_path):
    config = {
        **copy.deepcopy(TINY_CONFIG),
        "shards": {"sizes": [64, 128, 256]},
        "fit": {"bootstrap": 10, "laws": ["size"]},  # a study fits a law to more points than parameters
        "training": {**TINY_CONFIG["training"], "min_steps": 50, "max_steps": 50},
        "models": {"mlp": {"sizes": [4, 8, 16, 32], "depth": 2}},
        "pruning": {**PRUNING, "points": [{"dataset": "teacher", "family": "mlp", "sizes": [4, 8, 16, 32], "n": 256}]},
    }
    work = make_checkout(tmp_path / "w", config)
    proc = snakemake(work)
    assert job_counts(proc.stdout).get("prune") == 4
    out = work / "results" / "tiny" / "pruning"
    fits = json.loads((out / "pruning_fits.json").read_text())
    entry = fits["teacher/n=256"]
    assert len(entry["curves"]) == 4
    inv = entry["invariant"]
    assert "params" in inv and inv["params"]["phi"]["fixed"] and "mean_rel_error" in inv["backtest"]
    assert inv["backtest"]["axis"] == "w"
    assert inv["goodness"]["mean_rel_error"] < 0.5
    for fig in ("density", "collapse"):
        assert (out / "figures" / f"teacher.n256.pruning_{fig}.png").read_bytes()[:4] == b"\x89PNG"
    again = snakemake(work, "-n")
    assert "Nothing to be done" in again.stdout  # pruning jobs are cached like training
    snakemake(work, "--report", "report.html")
    assert "pruning_collapse.png" in (work / "report.html").read_text(errors="replace")
