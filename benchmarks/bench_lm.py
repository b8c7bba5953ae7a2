"""Language-model training throughput: the project's ensembles against a plain single-model loop.

Four ways to train byte-level GPTs (vocab 256) of width d on random token windows resident on the
device, all in bf16 autocast:
  (a) eager     examples/gpt.py's model, one at a time: torch.optim.AdamW(fused=True)
  (b) compile   the same loop under torch.compile (nanoGPT's recipe; skipped on CPU, where one
                compile takes ~35 s on 2 cores)
  (c) ensemble  the project's TransformerEnsemble of E members through FastSteps (train/fast.py:
                flat parameters, fused Triton Adam, CUDA graphs)
  (d) user      examples/gpt.py through the project's user-model path
                (build_ensemble("examples/gpt.py:build", ...)), through FastSteps as (c)
  (e) ensemble+compile  (c) with the ensemble's forward under torch.compile, inside FastSteps'
                CUDA graph: what compiling the fast path would give (the trainer does not)
Per row: member-tokens/s (the tokens all members together train on per second: an ensemble of E
must beat E models trained one after another by the compiled loop) and MFU: member-tokens/s x
(6N + 6 * layers * context * d) FLOPs per token (N: non-embedding parameters;
models/transformer.py's flops_per_example / context) over the GPU's dense bf16 peak. Default
grid: widths 128 256 512 1024 with 4 8 8 8 layers, context 256, 32 and 128 windows per member
per step, 4 members. Every row runs in try/except under a time limit (--limit); no row starts
once --budget seconds have passed.

    python benchmarks/bench_lm.py                                   # the full grid, on CUDA
    python benchmarks/bench_lm.py --widths 512 --batches 32 --methods bc
    python benchmarks/bench_lm.py --quick                           # a tiny CPU run, < 60 s
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "gpt.py"
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(EXAMPLE.parent))
import gpt  # noqa: E402

from bench_trainer import peak  # noqa: E402
from scalinglaws.models import build_ensemble  # noqa: E402
from scalinglaws.train.fast import FastSteps  # noqa: E402
from scalinglaws.train.metrics import member_loss  # noqa: E402
from scalinglaws.train.spec import TrainSpec  # noqa: E402

VOCAB = 256  # bytes
WINDOWS = 4096  # random token windows on the device, drawn from at every step
WARMUP = 4  # untimed steps: compile, CUDA graph capture (fast.WARMUP eager steps, then one captured)
PROBE = 3  # timed steps that size the measurement to the time limit
METHODS = {
    "a": "(a) eager",
    "b": "(b) compile",
    "c": "(c) ensemble",
    "d": "(d) user",
    "e": "(e) ensemble+compile",
}


def flops_per_token(params: int, layers: int, context: int, width: int) -> float:
    """Kaplan et al.'s training FLOPs per token: 6N (forward and backward) plus attention."""
    return 6.0 * params + 6.0 * layers * context * width


@dataclass
class Config:
    width: int
    layers: int
    batch: int  # windows per member per step
    members: int
    context: int
    head_dim: int

    def build_gpt(self):
        return gpt.build(self.width, (self.context,), VOCAB, depth=self.layers, head_dim=self.head_dim)


def window_loss(model, rows: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over windows of context + 1 tokens (nanoGPT's forward)."""
    logits = model(rows[:, :-1])
    return F.cross_entropy(logits.flatten(0, 1).float(), rows[:, 1:].flatten())


def plain_loop(cfg: Config, data: torch.Tensor, compiled: bool):
    """(a), (b): one model, fused AdamW, bf16 autocast. Returns (run k steps, N, members)."""
    dev = data.device
    model = cfg.build_gpt().to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0, fused=dev.type == "cuda")
    loss_of = torch.compile(window_loss) if compiled else window_loss

    def run(k: int) -> None:
        for _ in range(k):
            rows = data[torch.randint(len(data), (cfg.batch,), device=dev)]
            with torch.autocast(dev.type, dtype=torch.bfloat16):
                loss = loss_of(model, rows)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

    return run, model.param_count(), 1


class NotAvailable(Exception):
    """build_ensemble refused a user's model ("file.py:build"): (d) is left out of the run."""


def fast_steps(cfg: Config, data: torch.Tensor, kind: str, options: dict, steps: int, compiled: bool = False):
    """(c), (d), (e): an ensemble of cfg.members through the project's FastSteps, in bf16; (e)
    compiles the ensemble's forward first (FastSteps captures the compiled kernels in its graph)."""
    dev, E = data.device, cfg.members
    seeds = list(range(E))
    try:
        model = build_ensemble(kind, seeds, cfg.width, (cfg.context,), VOCAB, options, "lm")
    except Exception as exc:
        if kind == "transformer":
            raise
        raise NotAvailable(f"{type(exc).__name__}: {exc}") from None  # (d): the user-model path
    model = model.to(dev)
    if compiled:
        model.forward = torch.compile(model.forward)
    spec = TrainSpec(seeds, [1e-3], batch_size=cfg.batch, eval_every=max(steps, WARMUP), precision="bf16")
    x, y = data[:, :-1].contiguous(), data[:, 1:].contiguous()
    lrs = torch.full((E,), 1e-3, device=dev)
    trainer = FastSteps(model, x, y, lambda out, t: member_loss(out, t, "lm"), lrs, spec, cfg.batch)
    active, gen = torch.ones(E, device=dev), torch.Generator().manual_seed(0)

    def run(k: int) -> None:
        trainer.train(torch.randint(len(x), (k, E, cfg.batch), generator=gen), active)

    if kind == "transformer":
        return run, model.param_count(), E
    with torch.device("meta"):  # (d): the user's module counts N; the meta device allocates nothing
        return run, cfg.build_gpt().param_count(), E


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed(run, dev: torch.device, steps: int, deadline: float) -> tuple[float, int]:
    """Steps per second over at most `steps` steps after the warm-up, as many as fit in half the
    time left before `deadline` (time.perf_counter())."""
    run(WARMUP)
    sync(dev)
    t = time.perf_counter()
    run(PROBE)
    sync(dev)
    per_step = (time.perf_counter() - t) / PROBE
    n = max(PROBE, min(steps, int(0.5 * (deadline - time.perf_counter()) / per_step)))
    t = time.perf_counter()
    run(n)
    sync(dev)
    return n / (time.perf_counter() - t), n


def _alarm(signum, frame):
    raise TimeoutError("the row's time limit (--limit) was reached")


def measure(method: str, cfg: Config, args, dev: torch.device) -> dict:
    """One row of the table; an error (OOM, a crash, the time limit) becomes its `error`."""
    row = {"method": METHODS[method], **vars(cfg), "tokens": cfg.batch * cfg.context, "error": None}
    start = time.perf_counter()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, args.limit)
    try:
        data = torch.randint(VOCAB, (WINDOWS, cfg.context + 1), device=dev)
        if method in "ab":
            run, params, members = plain_loop(cfg, data, compiled=method == "b")
        elif method in "ce":
            options = {"depth": cfg.layers, "aspect": 32, "head_dim": cfg.head_dim}
            run, params, members = fast_steps(cfg, data, "transformer", options, args.steps, method == "e")
        else:
            kind = f"{os.path.relpath(EXAMPLE)}:build"  # a path relative to where this runs, as a study's
            run, params, members = fast_steps(
                cfg, data, kind, {"depth": cfg.layers, "head_dim": cfg.head_dim}, args.steps
            )
        steps_s, n = timed(run, dev, args.steps, start + args.limit)
        fpt = flops_per_token(params, cfg.layers, cfg.context, cfg.width)
        rate = steps_s * cfg.batch * cfg.context * members  # member-tokens/s: tokens all members train on
        row.update(params=params, steps=n, rate=rate, mfu=rate * fpt / args.peak if args.peak else None)
    except Exception as exc:  # any failure is one line of the table, and the run goes on
        first = str(exc).strip().splitlines() or [""]
        row["error"] = f"{type(exc).__name__}: {first[0]}"[:160]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if method in "be":
            torch._dynamo.reset()
        gc.collect()  # the row's model, optimiser and CUDA graphs (with their memory pools) go
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    row["seconds"] = time.perf_counter() - start
    return row


def line(row: dict) -> str:
    head = (
        f"| {row['method']} | {row['width']} | {row['layers']} | {row['members']} | {row['batch']} | {row['tokens']} |"
    )
    if row["error"]:
        return f"{head} failed: {row['error']} | | |"
    mfu = f"{100 * row['mfu']:.1f}" if row["mfu"] is not None else "-"
    return f"{head} {row['rate']:,.0f} | {row['params']:,} | {mfu} |"


def ratios(rows: list[dict]) -> str:
    """The ensembles' member-tokens/s over the compiled single-model loop's (else eager's)."""
    ok = {(r["method"], r["width"], r["batch"]): r["rate"] for r in rows if not r["error"]}
    parts = []
    for width, batch in dict.fromkeys((r["width"], r["batch"]) for r in rows):
        base = next((m for m in ("(b) compile", "(a) eager") if (m, width, batch) in ok), None)
        for m in [m for m in METHODS.values() if m[1] in "cde"]:
            if base and (m, width, batch) in ok:
                parts.append(
                    f"{m[:3]}/{base[:3]} d={width} B={batch}: {ok[m, width, batch] / ok[base, width, batch]:.2f}x"
                )
    return "ensemble / single-model throughput (member-tokens/s): " + ("; ".join(parts) or "none measured")


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--widths", type=int, nargs="+", default=[128, 256, 512, 1024])
    p.add_argument("--layers", type=int, nargs="+", help="one, or one per width (default: width / 32, from 4 to 8)")
    p.add_argument("--batches", type=int, nargs="+", default=[32, 128], help="windows per member per step")
    p.add_argument("--members", type=int, default=4, help="ensemble members of (c) and (d)")
    p.add_argument("--steps", type=int, default=50, help="timed steps per row (fewer if the time limit says so)")
    p.add_argument("--context", type=int, default=256)
    p.add_argument("--head-dim", type=int, default=64)
    p.add_argument("--methods", default="abcde", help="which of a-e to run")
    p.add_argument("--peak", type=float, help="dense bf16 FLOP/s for MFU (default: from the GPU's name)")
    p.add_argument("--limit", type=float, default=120.0, help="seconds per row, warm-up and compile included")
    p.add_argument("--budget", type=float, default=420.0, help="start no row after this many seconds")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--quick", action="store_true", help="tiny: widths 32 64, 2 layers, context 32, batch 8")
    args = p.parse_args(argv)
    if args.quick:  # its own defaults; flags given still win
        p.set_defaults(widths=[32, 64], layers=[2], context=32, batches=[8], steps=10)
        args = p.parse_args(argv)
    args.layers = args.layers or [min(8, max(4, w // 32)) for w in args.widths]
    if len(args.layers) == 1:
        args.layers *= len(args.widths)
    if len(args.layers) != len(args.widths):
        p.error("--layers takes one number, or one per width")
    return args


def main(argv=None) -> list[dict]:
    args, start = parse(argv), time.perf_counter()
    dev = torch.device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    args.peak = args.peak or peak(dev, "bf16")
    if dev.type == "cuda":
        torch.set_float32_matmul_precision("high")  # TF32 for what autocast leaves in fp32, as the trainer does
    elif set("be") & set(args.methods):
        print("(b), (e) skipped on CPU: torch.compile takes ~35 s per shape on 2 cores", flush=True)
        args.methods = "".join(m for m in args.methods if m not in "be")
    print(
        f"device: {name}; torch {torch.__version__}; peak {args.peak or 'unknown (no MFU)'}; context {args.context},"
        f" head_dim {args.head_dim}, {args.members} members in (c), (d), (e), bf16 autocast",
        flush=True,
    )
    header = "| method | width | layers | members | windows/member/step | tokens/step/member | member-tokens/s | params N | MFU % |"
    print(header + "\n" + "|---" * 9 + "|", flush=True)
    rows = []
    for width, layers in zip(args.widths, args.layers):
        for batch in args.batches:
            for method in args.methods:
                members = args.members if method in "cde" else 1
                cfg = Config(width, layers, batch, members, args.context, args.head_dim)
                if time.perf_counter() - start > args.budget:
                    row = {"method": METHODS[method], **vars(cfg), "tokens": batch * args.context}
                    rows.append({**row, "error": f"not run: the {args.budget:.0f} s budget was spent"})
                else:
                    rows.append(measure(method, cfg, args, dev))
                print(f"{line(rows[-1])} {rows[-1].get('seconds', 0):.0f} s", flush=True)
                if (rows[-1]["error"] or "").startswith("NotAvailable"):
                    print(f"(d) not available: {rows[-1]['error'].removeprefix('NotAvailable: ')}", flush=True)
                    args.methods = args.methods.replace("d", "")
                if rows[-1]["error"] and dev.type == "cuda" and not cuda_alive(dev):
                    print("the CUDA context is broken after this error: no further row can run", flush=True)
                    return report(rows, header, start)
    return report(rows, header, start)


def cuda_alive(dev: torch.device) -> bool:
    try:
        torch.cuda.synchronize(dev)
        return True
    except Exception:
        return False


def report(rows: list[dict], header: str, start: float) -> list[dict]:
    print(f"\n{header}\n" + "|---" * 9 + "|")
    for row in sorted(rows, key=lambda r: (r["width"], r["batch"], r["method"])):
        print(line(row))
    print(ratios(rows))
    print(f"total {time.perf_counter() - start:.0f} s", flush=True)
    return rows


if __name__ == "__main__":
    main()
