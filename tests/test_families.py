"""Model families: each trains as a batched ensemble, its loss falls, its members are independent."""

import math

import numpy as np
import pytest
import torch

from scalinglaws.datasets import Split, make_dataset
from scalinglaws.models import ModelError, build_ensemble, family
from scalinglaws.models.kan import KANLayer, uniform_knots
from scalinglaws.train.metrics import evaluate
from scalinglaws.train.trainer import EnsembleJob, TrainOptions, TrainSpec, train_ensemble

torch.set_num_threads(1)
GPL = "/usr/share/common-licenses/GPL-3"  # English text on every Debian system (base-files)


def bars(n: int, seed: int) -> Split:
    """10x10 noisy images: class 0 has a horizontal bar, class 1 a vertical one, anywhere."""
    rng = np.random.default_rng(seed)
    x = 0.3 * rng.standard_normal((n, 1, 10, 10)).astype(np.float32)
    y = rng.integers(0, 2, n)
    pos = rng.integers(0, 10, n)
    for i in range(n):
        if y[i]:
            x[i, 0, :, pos[i]] += 1.0
        else:
            x[i, 0, pos[i], :] += 1.0
    return Split(x, y.astype(np.int64))


def text_data():
    ds = make_dataset(
        "text", {"path": GPL, "context": 32, "block_size": 256, "val_tokens": 2048, "test_tokens": 2048}, seed=0
    )
    return ds, ds.shard(16384), ds.eval_splits()


def function_data():
    ds = make_dataset("functions", {"function": "exp-sin", "val_size": 500, "test_size": 500}, seed=0)
    return ds, ds.shard(1000), ds.eval_splits()


CASES = {
    # family: (size, options, data, batch, steps, lr, fraction of the initial test loss to beat)
    "cnn": (4, {}, lambda: (None, bars(512, 0), {"val": bars(256, 1), "test": bars(256, 2)}), 32, 150, 0.01, 0.15),
    "transformer": (32, {}, text_data, 16, 150, 0.01, 0.6),
    "kan": (5, {"grid": 5}, function_data, 32, 300, 0.01, 0.01),
    "linear": (16, {}, lambda: _calibration(), 64, 200, 0.01, 0.1),
}


def _calibration():
    ds = make_dataset("calibration", {"val_size": 256, "test_size": 512}, seed=0)
    return ds, ds.shard(1024), ds.eval_splits()


def _task(data_set):
    return ("classification", 2, None) if data_set is None else (data_set.task, data_set.num_outputs, data_set.metric)


@pytest.mark.parametrize("family", sorted(CASES))
def test_family_trains_and_its_loss_falls(family):
    size, options, make, batch, steps, lr, fraction = CASES[family]
    ds, train, splits = make()
    task, outputs, metric = _task(ds)
    spec = TrainSpec(
        seeds=[0, 1],
        learning_rates=[lr],
        batch_size=batch,
        min_steps=steps,
        max_steps=steps,
        eval_every=50,
        patience=100,
    )
    job = EnsembleJob(family, size, options, task, outputs, spec, metric)
    runs = train_ensemble(job, (train, splits["val"], splits["test"]), "cpu")
    untrained = build_ensemble(family, [0, 1], size, train.x.shape[1:], outputs, options)
    x, y = torch.as_tensor(splits["test"].x), torch.as_tensor(splits["test"].y)
    initial, _ = evaluate(untrained, x, y, task, 8192, metric)
    for run, start in zip(runs, initial.tolist()):
        assert not run["diverged"] and run["best_step"] > 0
        assert run["test_loss"] < fraction * start, (family, run["test_loss"], start)
        assert run["params"] == untrained.param_count() > 0
        assert run["flops"] == pytest.approx(untrained.flops_per_example() * run["batch_size"] * run["steps"])


@pytest.mark.parametrize("family", sorted(CASES))
def test_fast_step_loop_matches_the_reference_loop(family):
    """The GPU fast path (flat parameters; eager on CPU) trains every family like the reference."""
    size, options, make, batch, _, lr, _ = CASES[family]
    ds, train, splits = make()
    task, outputs, metric = _task(ds)
    spec = TrainSpec(seeds=[0, 1], learning_rates=[lr], batch_size=batch, min_steps=100, max_steps=100, eval_every=50)
    job = EnsembleJob(family, size, options, task, outputs, spec, metric)
    ref, fast = (
        train_ensemble(job, (train, splits["val"], splits["test"]), "cpu", TrainOptions(fast=f)) for f in (False, True)
    )
    for a, b in zip(ref, fast):
        assert b["test_loss"] == pytest.approx(a["test_loss"], rel=1e-4) and b["best_step"] == a["best_step"]


@pytest.mark.parametrize(
    "family, shape, outputs",
    [("cnn", (1, 8, 8), 3), ("transformer", (12,), 256), ("kan", (3,), 2), ("linear", (5,), 2)],
)
def test_members_do_not_depend_on_their_ensemble_mates(family, shape, outputs):
    size = 32 if family == "transformer" else 4
    pair = build_ensemble(family, [3, 7], size, shape, outputs, {})
    alone = build_ensemble(family, [7], size, shape, outputs, {})
    x = torch.randint(0, 256, (1, 5, *shape)) if family == "transformer" else torch.randn(1, 5, *shape)
    out_pair = pair(x.expand(2, *x.shape[1:]))
    torch.testing.assert_close(out_pair[1], alone(x)[0], rtol=1e-5, atol=1e-5)
    if family != "linear":  # the linear family starts every member at zero
        assert not torch.allclose(out_pair[0], out_pair[1])


def cox_de_boor(i: int, p: int, x: float, t: list[float]) -> float:
    """The i-th B-spline of order p at x, by the textbook recursion (one scalar at a time)."""
    if p == 0:
        return 1.0 if t[i] <= x < t[i + 1] else 0.0
    left = (x - t[i]) / (t[i + p] - t[i]) * cox_de_boor(i, p - 1, x, t)
    right = (t[i + p + 1] - x) / (t[i + p + 1] - t[i + 1]) * cox_de_boor(i + 1, p - 1, x, t)
    return left + right


def test_kan_layer_matches_a_naive_per_sample_spline_evaluation():
    grid, fan_in, fan_out = 4, 3, 2
    layer = KANLayer([0, 1], fan_in, fan_out, grid, grid_range=(-1.0, 1.0), spline_std=1.0)
    x = torch.rand(2, 6, fan_in) * 2.4 - 1.2  # also outside the grid, where only SiLU remains
    out = layer(x).detach().numpy()
    t = uniform_knots(grid, -1.0, 1.0).tolist()
    assert len(t) == grid + 2 * 3 + 1
    coef, wb, bias = layer.coef.detach().numpy(), layer.base.weight.detach().numpy(), layer.base.bias.detach().numpy()
    for e in range(2):
        for b in range(6):
            for j in range(fan_out):
                total = bias[e, 0, j]
                for i in range(fan_in):
                    xi = float(x[e, b, i])
                    silu = xi / (1 + math.exp(-xi))
                    spline = sum(coef[e, i, c, j] * cox_de_boor(c, 3, xi, t) for c in range(grid + 3))
                    total += wb[e, i, j] * silu + spline
                assert out[e, b, j] == pytest.approx(total, rel=1e-4, abs=1e-5)


def test_kan_splines_partition_unity_inside_the_grid_and_size_can_be_the_grid():
    from scalinglaws.models.kan import bspline_basis

    x = torch.linspace(-0.999, 0.999, 101)
    basis = bspline_basis(x, uniform_knots(7, -1.0, 1.0))
    assert basis.shape == (101, 10)
    torch.testing.assert_close(basis.sum(-1), torch.ones(101))
    by_width = build_ensemble("kan", [0], 5, (2,), 1, {"grid": 3})
    by_grid = build_ensemble("kan", [0], 20, (2,), 1, {"size_is": "grid", "width": 5})
    # [2, 5, 1]: 15 edges, each with G + 3 spline coefficients and a SiLU weight, plus 6 biases
    assert by_width.param_count() == 15 * (3 + 3 + 1) + 6
    assert by_grid.param_count() == 15 * (20 + 3 + 1) + 6


def test_transformer_counts_non_embedding_parameters_and_is_causal():
    model = build_ensemble("transformer", [0], 64, (16,), 256, {})
    d, layers = 64, 2  # the depth rule: round(64 / 32)
    assert len(model.blocks) == layers
    per_layer = 12 * d * d + 13 * d  # qkv, proj, up, down (weights and biases) and two LayerNorms
    assert model.param_count() == layers * per_layer + 2 * d  # + final LayerNorm; no embeddings
    x = torch.randint(0, 256, (1, 2, 16))
    y = x.clone()
    y[:, :, 10:] = (y[:, :, 10:] + 1) % 256  # change only the future of position 9
    torch.testing.assert_close(model(x)[:, :, :10], model(y)[:, :, :10])
    assert not torch.allclose(model(x)[:, :, 10:], model(y)[:, :, 10:])
    assert build_ensemble("transformer", [0], 64, (16,), 256, {"depth": 3}).param_count() == 3 * per_layer + 2 * d


def test_cnn_rejects_flat_inputs_and_unknown_options_are_named():
    with pytest.raises(ValueError, match="cnn family needs image inputs"):
        build_ensemble("cnn", [0], 4, (8,), 2, {})
    with pytest.raises(ModelError, match=r"models.k.grd: not an option of the kan family \(known: sizes, depth, grid"):
        family("k", {"type": "kan", "grd": 5, "sizes": [3]})
