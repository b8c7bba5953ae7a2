"""Trainer throughput: a naive loop, a hand-written CUDA-graph ensemble, and the project's trainer.

All three train depth-D MLPs of each width on the same teacher data with batch B:
  naive       one model at a time: nn.Sequential, torch.optim.Adam, a shuffling DataLoader, fp32
  handwritten E members as stacked tensors, forward and backward written out, a flat-buffer Adam,
              the whole step (minibatch draw included) captured in one CUDA graph
  trainer     scalinglaws.train.trainer.train_ensemble (E = 4 seeds x 4 learning rates): `steady`
              counts its step loop only, `call` the whole call (setup, graph capture, evaluation
              every --eval-every steps, final evaluation)
Figures are model-steps/s (one step of one member = one model-step) and model-FLOP utilisation,
6 x params x batch per model-step over the GPU's dense peak for the arithmetic used.

    python benchmarks/bench_trainer.py                      # widths 64 256 1024 4096, on CUDA
    python benchmarks/bench_trainer.py --check              # fast path == reference path on CUDA
    python benchmarks/bench_trainer.py --check --schedule cosine   # the same under a decaying schedule
    python benchmarks/bench_trainer.py --widths 16 --steps-scale 0.01 --device cpu   # smoke test
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
from scalinglaws.datasets import make_dataset  # noqa: E402
from scalinglaws.train.trainer import EnsembleJob, TrainOptions, TrainSpec, train_ensemble  # noqa: E402

# Dense peaks (FLOP/s) by the vendor's datasheets, SXM parts; H200 has the H100's arithmetic.
PEAKS = {"H100": {"fp32": 66.9e12, "tf32": 494.7e12, "bf16": 989.4e12}}
PEAKS["H200"] = PEAKS["H100"]
LRS = [1e-4, 3e-4, 1e-3, 3e-3]


def peak(device: torch.device, precision: str) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, peaks in PEAKS.items():
        if key in name and "PCIe" not in name:
            return peaks[precision]
    return None


def set_precision(precision: str) -> None:
    torch.set_float32_matmul_precision("highest" if precision == "fp32" else "high")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def mlp_params(d_in: int, width: int, depth: int) -> int:
    dims = [d_in] + [width] * depth + [1]
    return sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))


# -- naive: one model at a time -------------------------------------------------------------
def naive(x, y, width, depth, batch, steps, device) -> float:
    """model-steps/s of the textbook loop (fp32)."""
    from torch.utils.data import DataLoader, TensorDataset

    set_precision("fp32")
    torch.manual_seed(0)
    layers, d = [], x.shape[1]
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    model = nn.Sequential(*layers, nn.Linear(d, 1)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(
        TensorDataset(torch.as_tensor(x), torch.as_tensor(y)), batch_size=batch, shuffle=True, drop_last=True
    )

    def run(n):
        done = 0
        while done < n:
            for xb, yb in loader:
                xb, yb = xb.to(device), yb.to(device)
                loss = ((model(xb) - yb) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                done += 1
                if done == n:
                    break

    run(10)
    sync(device)
    t = time.perf_counter()
    run(steps)
    sync(device)
    return steps / (time.perf_counter() - t)


# -- hand-written: stacked tensors, manual backward, one CUDA graph per step ---------------------
class HandWritten:
    """E MLPs as stacked tensors; forward, backward and Adam written out by hand."""

    def __init__(self, x, y, members, width, depth, batch, precision, device):
        g = torch.Generator().manual_seed(0)
        dims = [x.shape[1]] + [width] * depth + [1]
        E = members
        ws = [torch.randn(E, a, b, generator=g) * math.sqrt(2 / a) for a, b in zip(dims[:-1], dims[1:])]
        bs = [torch.zeros(E, 1, b) for b in dims[1:]]
        tensors = [t.to(device) for t in ws + bs]
        self.flat = torch.cat([t.reshape(E, -1) for t in tensors], 1)
        views, off = [], 0
        for t in tensors:
            views.append(self.flat[:, off : off + t[0].numel()].view(t.shape))
            off += t[0].numel()
        self.W, self.b = views[: len(ws)], views[len(ws) :]
        self.m, self.v = torch.zeros_like(self.flat), torch.zeros_like(self.flat)
        self.grad = torch.zeros_like(self.flat)
        self.lr = torch.tensor(LRS * (E // len(LRS)) + LRS[: E % len(LRS)], device=device).view(E, 1)
        self.t = torch.zeros((), device=device, dtype=torch.float64)
        self.x, self.y = x.to(device), y.to(device)
        self.E, self.B, self.precision, self.device = E, batch, precision, device

    def step(self):
        E, B = self.E, self.B
        rows = torch.randint(len(self.x), (E, B), device=self.device)
        x, y = self.x[rows], self.y[rows]
        cast = torch.bfloat16 if self.precision == "bf16" else torch.float32
        hs, h = [], x.to(cast)
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            hs.append(h)
            z = torch.baddbmm(b.to(cast), h, W.to(cast))
            h = torch.relu(z) if i < len(self.W) - 1 else z
        g = (2.0 / B) * (h.float() - y)  # d(sum over members of the mean squared error)/d(out)
        gW, gb = [None] * len(self.W), [None] * len(self.W)
        for i in reversed(range(len(self.W))):
            gW[i] = torch.bmm(hs[i].transpose(1, 2), g.to(cast))
            gb[i] = g.sum(1, keepdim=True)
            if i:
                g = torch.bmm(g.to(cast), self.W[i].to(cast).transpose(1, 2)).float() * (hs[i] > 0)
        torch.cat([t.reshape(E, -1).float() for t in gW + gb], 1, out=self.grad)
        self.t += 1
        c1, c2 = 1 - 0.9**self.t, 1 - 0.999**self.t
        self.m.lerp_(self.grad, 0.1)
        self.v.mul_(0.999).addcmul_(self.grad, self.grad, value=0.001)
        self.flat.sub_((self.lr / c1) * self.m / (self.v / c2).sqrt().add_(1e-8))

    @torch.no_grad()
    def throughput(self, steps: int) -> float:
        set_precision(self.precision)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                self.step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.step()
        for _ in range(10):
            graph.replay()
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(steps):
            graph.replay()
        torch.cuda.synchronize()
        assert torch.isfinite(self.flat).all()
        return self.E * steps / (time.perf_counter() - t)


# -- the project's trainer --------------------------------------------------------------------
def trainer(data, members, width, depth, batch, steps, precision, device, eval_every, fast=True) -> dict:
    train, val, test = data
    seeds = list(range(max(1, members // len(LRS))))
    spec = TrainSpec(
        seeds=seeds,
        learning_rates=LRS[: members // len(seeds)],
        batch_size=batch,
        min_steps=steps,
        max_steps=steps,
        eval_every=eval_every,
        patience=10**6,
        precision=precision,
    )
    timing = {}
    job = EnsembleJob("mlp", width, {"depth": depth}, "regression", 1, spec)
    runs = train_ensemble(job, (train, val, test), str(device), TrainOptions(fast=fast, timing=timing))
    E = len(runs)
    assert runs[0]["steps"] == steps and not all(r["diverged"] for r in runs)
    return {"steady": E * steps / timing["train_s"], "call": E * steps / timing["total_s"], "timing": timing}


def check(data, device, steps=300, schedule="constant") -> bool:
    """The fast path against the reference path on this device, piece by piece.

    CUDA graphs replay exactly the kernels of the eager fast path, so those two must agree to
    the last bit or nearly; the fused Adam and the reference loop round differently, which Adam
    then amplifies over training (it normalises tiny gradients), so they must agree closely at the
    first evaluation and stay close after.
    """
    from scalinglaws.train import fast as fastpath

    train, val, test = data
    spec = TrainSpec(
        seeds=[0, 1],
        learning_rates=[1e-3, 1e-2],
        batch_size=256,
        min_steps=steps,
        max_steps=steps,
        eval_every=25,
        patience=4,
        precision="fp32",
        schedule=schedule,
        warmup=0.0 if schedule == "constant" else 0.1,
    )
    variants = {
        "reference": (False, False, False),
        "fast, torch Adam, eager": (True, False, False),
        "fast, fused Adam, eager": (True, True, False),
        "fast, fused Adam, CUDA graphs": (True, True, True),
    }
    curves = {}
    for name, (use_fast, triton, graphs) in variants.items():
        fastpath.USE_TRITON, fastpath.USE_GRAPHS = triton, graphs
        history = []
        job = EnsembleJob("mlp", 64, {"depth": 3}, "regression", 1, spec)
        train_ensemble(job, (train, val, test), str(device), TrainOptions(fast=use_fast, history=history))
        curves[name] = np.array([v for _, v in history])
    fastpath.USE_TRITON = fastpath.USE_GRAPHS = True

    def rel(a, b):
        return np.abs(curves[a] - curves[b]) / np.abs(curves[a])

    print(
        f"check ({schedule} learning rate): {len(curves['reference'])} evaluations x {curves['reference'].shape[1]} members, 25 steps apart"
    )
    pairs = [
        ("fast, fused Adam, eager", "fast, fused Adam, CUDA graphs"),
        ("fast, torch Adam, eager", "fast, fused Adam, eager"),
        ("reference", "fast, torch Adam, eager"),
        ("reference", "fast, fused Adam, CUDA graphs"),
    ]
    for a, b in pairs:
        r = rel(a, b)
        print(
            f"check: {a:>24} vs {b:<30} max relative difference of the validation curve: first evaluation"
            f" {r[0].max():.1e}, last {r[-1].max():.1e}, all {r.max():.1e}"
        )
    graphs_exact = rel(*pairs[0]).max() <= 1e-5
    close_early = all(rel(a, b)[0].max() <= 1e-3 for a, b in pairs)
    print(
        f"check: CUDA graphs replay the eager step: {'yes' if graphs_exact else 'NO'}; all variants agree at the"
        f" first evaluation: {'yes' if close_early else 'NO'}"
    )
    return graphs_exact and close_early


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--widths", type=int, nargs="+", default=[64, 256, 1024, 4096])
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--members", type=int, default=16)
    p.add_argument("--precisions", nargs="+", default=["fp32", "tf32", "bf16"])
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--steps-scale", type=float, default=1.0, help="scale every step count (smoke tests)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--check", action="store_true", help="only compare the fast path with the reference path")
    p.add_argument(
        "--schedule", default="constant", help="--check: the learning-rate schedule (constant, cosine, linear)"
    )
    p.add_argument("--json", help="write every figure here")
    args = p.parse_args()
    device = torch.device(args.device)

    ds = make_dataset("teacher", {"input_dim": 8, "val_size": 2048, "test_size": 2048}, seed=0)
    shard, splits = ds.shard(65536), ds.eval_splits()
    data = (shard, splits["val"], splits["test"])
    if args.check:
        sys.exit(0 if check(data, device, schedule=args.schedule) else 1)
    x, y = shard.x, shard.y
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {name}; torch {torch.__version__}; depth {args.depth}, batch {args.batch}, {args.members} members")

    def scaled(n):
        return max(20, int(n * args.steps_scale))

    if device.type == "cuda":  # one-time costs (Triton's compile of the fused Adam, cuBLAS) out of the figures
        trainer(data, args.members, 16, args.depth, args.batch, 50, "tf32", device, 25)
    rows = []
    for width in args.widths:
        params = mlp_params(x.shape[1], width, args.depth)
        flop = 6.0 * params * args.batch  # per model-step
        big = width >= 2048
        base = {"width": width, "params": params}
        rate = naive(x, y, width, args.depth, args.batch, scaled(100 if big else 600), device)
        rows.append({**base, "what": "naive", "precision": "fp32", "model_steps_s": rate})
        for prec in args.precisions:
            if device.type == "cuda":
                hand = HandWritten(
                    torch.as_tensor(x), torch.as_tensor(y), args.members, width, args.depth, args.batch, prec, device
                )
                rate = hand.throughput(scaled(100 if big else 2000))
                rows.append({**base, "what": "handwritten", "precision": prec, "model_steps_s": rate})
                del hand
                torch.cuda.empty_cache()
            r = trainer(
                data,
                args.members,
                width,
                args.depth,
                args.batch,
                scaled(200 if big else 4000),
                prec,
                device,
                args.eval_every,
            )
            rows.append(
                {**base, "what": "trainer", "precision": prec, "model_steps_s": r["steady"], "timing": r["timing"]}
            )
            rows.append({**base, "what": "trainer-call", "precision": prec, "model_steps_s": r["call"]})
            gc.collect()  # the trainer's CUDA graphs (and their memory pools) go with it
            if device.type == "cuda":
                torch.cuda.empty_cache()
        for row in rows:
            if row["width"] == width:
                pk = peak(device, row["precision"])
                row["mfu"] = row["model_steps_s"] * flop / pk if pk else None
                row["mfu_bf16_peak"] = row["model_steps_s"] * flop / peak(device, "bf16") if pk else None
                print(json.dumps({k: v for k, v in row.items() if k != "timing"}), flush=True)

    print(
        f"\n{'width':>6} {'what':<13} {'prec':<5} {'model-steps/s':>14} {'x naive':>8} {'/ hand':>7} {'MFU':>6} {'MFU/bf16':>8}"
    )
    for row in rows:
        nv = next(r for r in rows if r["width"] == row["width"] and r["what"] == "naive")["model_steps_s"]
        hand = [
            r
            for r in rows
            if r["width"] == row["width"] and r["what"] == "handwritten" and r["precision"] == row["precision"]
        ]
        rel = f"{row['model_steps_s'] / hand[0]['model_steps_s']:7.2f}" if hand else f"{'':>7}"
        mfu = f"{row['mfu']:6.1%}" if row.get("mfu") is not None else f"{'':>6}"
        mfu16 = f"{row['mfu_bf16_peak']:8.1%}" if row.get("mfu_bf16_peak") is not None else f"{'':>8}"
        print(
            f"{row['width']:>6} {row['what']:<13} {row['precision']:<5} {row['model_steps_s']:>14,.0f}"
            f" {row['model_steps_s'] / nv:>8.1f} {rel} {mfu} {mfu16}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"device": name, "torch": torch.__version__, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
