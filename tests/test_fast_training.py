"""The fast path (fast.py) against the reference loop, the GPU slot allocator, and job timing.

CUDA graphs cannot run here; the fast path's other parts (the flat-buffer Adam, device-side
batch indices, capture-safe early stopping) run eagerly on the CPU and must follow the reference
learning curve. benchmarks/bench_trainer.py --check does the same comparison with graphs on a GPU.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from scalinglaws import cli
from scalinglaws.datasets import Split
from scalinglaws.models import build_ensemble
from scalinglaws.train.ensemble import EnsembleAdam
from scalinglaws.train.fast import FlatAdam, flatten_parameters
from scalinglaws.train.gpus import GpuSlot
from scalinglaws.train.trainer import EnsembleJob, TrainOptions, TrainSpec, train_ensemble

torch.set_num_threads(1)
WORKFLOW = str(Path(cli.__file__).resolve().parents[1])  # what a subprocess needs on its PYTHONPATH


def classification_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 1, 4, 4)).astype(np.float32)
    y = (x.reshape(600, -1).sum(1) > 0).astype(np.int64)
    return Split(x[:400], y[:400]), Split(x[400:500], y[400:500]), Split(x[500:], y[500:])


def curves(data, task, outputs, precision):
    # lr 1e4 diverges; patience 3 stops members early: every bookkeeping branch is exercised
    spec = TrainSpec(
        seeds=[0, 1],
        learning_rates=[0.003, 0.03, 1e4],
        batch_size=64,
        min_steps=400,
        max_steps=400,
        eval_every=20,
        patience=3,
        weight_decay=0.01,
        precision=precision,
    )
    result = {}
    for fast in (False, True):
        history = []
        job = EnsembleJob("mlp", 16, {"depth": 2}, task, outputs, spec)
        runs = train_ensemble(job, data, "cpu", TrainOptions(fast=fast, history=history))
        result[fast] = (runs, np.array([v for _, v in history]), [s for s, _ in history])
    return result


@pytest.mark.parametrize("task,precision", [("regression", "tf32"), ("classification", "bf16")])
def test_fast_path_follows_the_reference_learning_curve(teacher, task, precision):
    data, outputs = (teacher, 1) if task == "regression" else (classification_data(), 2)
    res = curves(data, task, outputs, precision)
    (ref_runs, ref_curve, ref_steps), (fast_runs, fast_curve, fast_steps) = res[False], res[True]
    assert ref_steps == fast_steps and len(ref_steps) >= 5
    finite = np.isfinite(ref_curve)
    assert (finite == np.isfinite(fast_curve)).all()
    np.testing.assert_allclose(fast_curve[finite], ref_curve[finite], rtol=1e-4)
    assert ref_curve[-1, 1] < 0.8 * ref_curve[0, 1]  # it learned something
    for r, f in zip(ref_runs, fast_runs):
        assert (r["diverged"], r["best_step"], r["steps"]) == (f["diverged"], f["best_step"], f["steps"])
        for key in ("val_loss", "test_loss", "test_metric", "train_loss"):
            if r[key] is None:
                assert f[key] is None
            else:
                assert f[key] == pytest.approx(r[key], rel=1e-4)
    assert [r["diverged"] for r in ref_runs] == [False, False, True] * 2


def test_flat_adam_is_ensemble_adam():
    g = torch.Generator().manual_seed(0)
    shapes = [(3, 5, 4), (3, 1, 4), (3, 4, 1)]
    ref = [torch.nn.Parameter(torch.randn(s, generator=g)) for s in shapes]
    fast = [torch.nn.Parameter(p.detach().clone()) for p in ref]
    lrs = torch.tensor([0.1, 0.01, 0.001])
    flat = flatten_parameters(fast, 3)
    opt_ref, opt_fast = EnsembleAdam(ref, lrs, weight_decay=0.1), FlatAdam(flat, lrs, weight_decay=0.1)
    for t in range(5):
        active = torch.tensor([1.0, 0.0 if t >= 2 else 1.0, 1.0])  # member 1 stops after two steps
        grads = [torch.randn(s, generator=g) for s in shapes]
        for p, gr in zip(ref, grads):
            p.grad = gr
        opt_ref.step(active)
        opt_fast.step(torch.cat([gr.reshape(3, -1) for gr in grads], 1), active)
    for a, b in zip(ref, fast):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_flat_parameters_are_views_and_keep_the_model():
    model = build_ensemble("mlp", [0, 1], 8, (3,), 1, {})
    x = torch.randn(2, 5, 3)
    before = model(x)
    flat = flatten_parameters(list(model.parameters()), 2)
    assert flat.shape == (2, model.param_count())
    torch.testing.assert_close(model(x), before)
    flat.zero_()
    assert all(float(p.detach().abs().sum()) == 0 for p in model.parameters())


def test_gpu_slots_go_to_the_least_loaded_gpu(tmp_path):
    held = [GpuSlot(2, tmp_path) for _ in range(3)]
    assert [(s.slot, s.gpu) for s in held] == [(0, 0), (1, 1), (2, 0)]  # equal costs: even counts
    held[1].release()
    again = GpuSlot(2, tmp_path)
    assert (again.slot, again.gpu) == (1, 1)  # the freed slot, on the GPU with fewer jobs
    for s in held + [again]:
        s.release()
    big = GpuSlot(2, tmp_path, cost=100.0)
    small = [GpuSlot(2, tmp_path, cost=40.0) for _ in range(3)]
    assert big.gpu == 0 and [s.gpu for s in small] == [1, 1, 1]  # loads 100 vs 0, 40, 80
    assert GpuSlot(2, tmp_path, cost=40.0).gpu == 0  # 100 vs 120: back to GPU 0


def test_gpu_slot_of_a_killed_job_is_free(tmp_path):
    code = f"from scalinglaws.train.gpus import GpuSlot; s = GpuSlot(4, {str(tmp_path)!r}); print(s.slot, flush=True); input()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": WORKFLOW},
    )
    assert proc.stdout.readline().strip() == "0"
    assert GpuSlot(4, tmp_path).slot == 1  # taken while the job lives
    proc.kill()
    proc.wait()
    assert GpuSlot(4, tmp_path).slot == 0  # SIGKILL left no stale lock


def test_train_command_records_where_the_time_went(tmp_path):
    spec = {"name": "teacher", "options": {"input_dim": 4, "val_size": 128, "test_size": 128}, "seed": 0}
    assert cli.main(["data", "--dataset", json.dumps(spec), "--n", "256", "--out", str(tmp_path / "shard.npz")]) == 0
    assert cli.main(["data", "--dataset", json.dumps(spec), "--out", str(tmp_path / "eval.npz")]) == 0
    train = {
        "seeds": [0],
        "learning_rates": [0.01],
        "batch_size": 32,
        "min_steps": 60,
        "max_steps": 60,
        "eval_every": 20,
    }
    job = {
        "family_type": "mlp",
        "size": 8,
        "model_options": {"depth": 2},
        "task": "regression",
        "num_outputs": 1,
        "train": train,
    }
    out = tmp_path / "metrics.json"
    args = [
        "train",
        "--spec",
        json.dumps(job),
        "--shard",
        str(tmp_path / "shard.npz"),
        "--eval",
        str(tmp_path / "eval.npz"),
        "--out",
        str(out),
        "--device",
        "cpu",
    ]
    assert cli.main(args) == 0
    timing = json.loads(out.read_text())["timing"]
    te = timing["train_ensemble"]
    assert te["steps"] == 60 and te["members"] == 1 and te["train_s"] > 0
    assert te["train_s"] + te["eval_s"] + te["setup_s"] <= te["total_s"]
    assert timing["process_start"] <= timing["end"] and timing["gpu"] is None


def test_fused_adam_kernel_is_flat_adam(tmp_path):
    """The Triton kernel of the GPU path, run by Triton's CPU interpreter (where Triton is installed)."""
    pytest.importorskip("triton")
    code = """
import torch
from scalinglaws.train.fast import FlatAdam, FusedAdam
g = torch.Generator().manual_seed(0)
a, b = torch.randn(3, 2500, generator=g), None
b = a.clone()
lrs = torch.tensor([0.1, 0.01, 0.001])
ref, fused = FlatAdam(a, lrs, weight_decay=0.1), FusedAdam(b, lrs, weight_decay=0.1)
for t in range(50):
    active = torch.tensor([1.0, 0.0 if t >= 2 else 1.0, 1.0])
    grad = torch.randn(3, 2500, generator=g)
    ref.step(grad, active)
    fused.step(grad, active)
torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6)
torch.testing.assert_close(fused.v, ref.v, rtol=1e-5, atol=1e-9)
"""
    path = os.pathsep.join(p for p in (WORKFLOW, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": path}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
