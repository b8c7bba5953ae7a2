"""The GPU fast path of the ensemble trainer: one step = one CUDA-graph launch.

A small MLP ensemble on a GPU is bound by kernel launches, not arithmetic: a width-256 step is
~60 tiny kernels. So the fast path (1) keeps every member's parameters in one (E, P) buffer, each
model parameter a view of it, so Adam is a few whole-buffer kernels instead of a few per tensor;
(2) stages a chunk's minibatch indices on the device, a step reading its row through a device
counter, so no host work sits between steps; (3) captures one training step, and the end-of-chunk
evaluation, as CUDA graphs and replays them. Without CUDA the same code runs eagerly, which is
how the CPU tests check it against the reference loop in ensemble.py.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
import warnings
from typing import Callable

import torch

from .schedule import Anneal, Schedule

WARMUP = 2  # eager calls before a capture (cuBLAS handles, autograd and allocator warm-up)
USE_GRAPHS = True  # switches for benchmarks/bench_trainer.py --check
USE_TRITON = True


class FlatAdam:
    """ensemble.EnsembleAdam over one (E, P) buffer, with the step count on the device.

    Same update, same order of operations; member e's learning rate is lrs[e] (0 once stopped).
    The bias corrections are device tensors, so a captured step stays correct on every replay.
    """

    def __init__(
        self,
        flat: torch.Tensor,
        lrs: torch.Tensor,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        schedule: Schedule | None = None,
    ):
        self.p, self.base, self.schedule = flat, lrs.reshape(-1, 1).contiguous(), schedule
        self.lrs = self.base if schedule is None or schedule.is_constant else torch.empty_like(self.base)
        self.anneal: Anneal | None = None
        self.annealed = torch.empty_like(self.base)  # the anneal's rates (ensemble.begin_anneal)
        self.b1, self.b2 = betas
        self.eps, self.wd = eps, weight_decay
        self.t = torch.zeros((), dtype=torch.float64, device=flat.device)
        self.m = torch.zeros_like(flat)
        self.v = torch.zeros_like(flat)

    def scheduled_lrs(self) -> torch.Tensor:
        """The rates of this step, in place (graph safe): base x the schedule's factor at step t,
        or the anneal's once it began (a new capture: fast.FastSteps.begin_anneal)."""
        if self.anneal is not None:
            return self.anneal.apply(self.base, self.annealed)
        if self.lrs is not self.base:
            self.schedule.apply(self.base, self.t, self.lrs)
        return self.lrs

    @torch.no_grad()
    def step(self, grad: torch.Tensor, active: torch.Tensor) -> None:
        self.t += 1
        lrs = self.scheduled_lrs()
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        if self.wd:
            grad = grad.add(self.p, alpha=self.wd)
        self.m.lerp_(grad, 1 - self.b1)
        self.v.mul_(self.b2).addcmul_(grad, grad, value=1 - self.b2)
        scale = lrs * active.view(-1, 1) / c1
        self.p.addcdiv_(scale * self.m, (self.v / c2).sqrt().add_(self.eps), value=-1)  # p -= scale m / denom


class FusedAdam(FlatAdam):
    """FlatAdam as one Triton kernel that reads and writes every element once.

    At width 1024 and up Adam is bound by memory traffic, and the ~15 separate kernels of
    FlatAdam move each buffer many times; at width 256 it saves ~13 launches per step.
    """

    BLOCK = 1024

    def step(self, grad: torch.Tensor, active: torch.Tensor) -> None:
        self.t += 1
        lrs = self.scheduled_lrs()
        E, P = self.p.shape
        grid = (-(-P // self.BLOCK), E)  # blocks first: CUDA's second grid axis stops at 65535 blocks
        _adam_kernel()[grid](
            self.p,
            grad,
            self.m,
            self.v,
            lrs,
            active,
            self.t,
            P,
            math.log(self.b1),
            math.log(self.b2),
            self.b1,
            self.b2,
            self.eps,
            self.wd,
            BLOCK=self.BLOCK,
        )


@functools.lru_cache(maxsize=None)
def _adam_kernel():
    """The Triton kernel of FusedAdam (compiled on first use), or None without Triton."""
    try:
        import triton
        import triton.language as tl
    except ImportError:
        return None

    @triton.jit
    def adam(
        p_ptr, g_ptr, m_ptr, v_ptr, lr_ptr, active_ptr, t_ptr, P, log_b1, log_b2, b1, b2, eps, wd, BLOCK: tl.constexpr
    ):
        row = tl.program_id(1)  # one member per grid row, its elements in BLOCK-sized pieces
        cols = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = cols < P
        offs = row.to(tl.int64) * P + cols
        t = tl.load(t_ptr)  # float64: 1 - b2**t is accurate even while t is small
        c1 = (1.0 - tl.exp(t * log_b1)).to(tl.float32)
        c2 = (1.0 - tl.exp(t * log_b2)).to(tl.float32)
        scale = tl.load(lr_ptr + row) * tl.load(active_ptr + row) / c1
        p = tl.load(p_ptr + offs, mask=mask)
        g = tl.load(g_ptr + offs, mask=mask) + wd * p
        m = tl.load(m_ptr + offs, mask=mask)
        v = tl.load(v_ptr + offs, mask=mask)
        m = m + (1.0 - b1) * (g - m)
        v = b2 * v + (1.0 - b2) * g * g
        p = p - scale * m / (tl.sqrt(v / c2) + eps)
        tl.store(m_ptr + offs, m, mask=mask)
        tl.store(v_ptr + offs, v, mask=mask)
        tl.store(p_ptr + offs, p, mask=mask)

    return adam


def make_adam(flat: torch.Tensor, lrs: torch.Tensor, weight_decay: float, schedule: Schedule | None = None) -> FlatAdam:
    """FusedAdam on CUDA where Triton is installed (it comes with PyTorch's CUDA builds), else FlatAdam."""
    if flat.device.type == "cuda" and USE_TRITON and _adam_kernel() is not None:
        return FusedAdam(flat, lrs.contiguous(), weight_decay=weight_decay, schedule=schedule)
    return FlatAdam(flat, lrs, weight_decay=weight_decay, schedule=schedule)


def flatten_parameters(params: list[torch.Tensor], members: int) -> torch.Tensor:
    """Move stacked parameters (leading dim = member) into one (E, P) buffer; each becomes a view."""
    flat = torch.cat([p.detach().reshape(members, -1) for p in params], 1)
    offset = 0
    for p in params:
        size = p[0].numel()
        p.data = flat[:, offset : offset + size].view(p.shape)
        offset += size
    return flat


class Graphed:
    """Call `fn` eagerly WARMUP times, then capture it once as a CUDA graph and replay that.

    `fn` must be capturable: fixed shapes, no host syncs, results written in place into tensors
    that live outside it. If capture fails (a model family that does host work), it warns and
    stays eager: slower, never wrong.
    """

    def __init__(self, fn: Callable[[], None], device: torch.device, enabled: bool = True):
        self.fn, self.device = fn, device
        self.enabled = enabled and device.type == "cuda"
        self.graph: torch.cuda.CUDAGraph | None = None
        self.calls = 0

    def __call__(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        elif not self.enabled:
            self.fn()
        elif self.calls < WARMUP:
            self.calls += 1
            with torch.cuda.device(self.device):  # warm up on a side stream, as capture will run
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    self.fn()
                torch.cuda.current_stream().wait_stream(side)
        else:
            graph = torch.cuda.CUDAGraph()
            try:
                with torch.cuda.device(self.device), torch.cuda.graph(graph):
                    self.fn()  # recorded, not run
            except RuntimeError as exc:
                warnings.warn(f"CUDA graph capture failed, training eagerly: {exc}", stacklevel=2)
                self.enabled = False
                self.fn()
                return
            self.graph = graph
            graph.replay()


def autocast(device: torch.device, precision: str):
    """bf16 autocast for `precision == "bf16"` (outside CUDA graphs' reach: no weight cache)."""
    if precision != "bf16":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)


class FastSteps:
    """Training steps for one ensemble: flat parameters, device-side indices, CUDA graphs.

    train(idx, active) runs len(idx) steps, idx being a (k, E, B) tensor of row indices drawn on
    the host; it returns without waiting for the device.
    """

    def __init__(self, model, xtr, ytr, loss_fn, lrs, spec, batch, graphs=True):
        """`spec` (a TrainSpec) gives the weight decay, the precision and the chunk length
        (`eval_every` steps: the most that one train() call runs)."""
        self.model, self.xtr, self.ytr, self.loss_fn = model, xtr, ytr, loss_fn
        self.device, self.precision = xtr.device, spec.precision
        max_chunk = spec.eval_every
        self.params = list(model.parameters())
        E = model.members
        self.flat = flatten_parameters(self.params, E)
        self.grad = torch.zeros_like(self.flat)
        self.opt = make_adam(
            self.flat, lrs, spec.weight_decay, Schedule(spec.schedule, spec.warmup, spec.steps_for(len(xtr)))
        )
        # what early stopping saves and restores
        self.state = [self.flat, self.opt.m, self.opt.v, *model.member_buffers()]
        self.idx = torch.zeros(max_chunk, E, batch, dtype=torch.long, device=self.device)
        self.row = torch.zeros(1, dtype=torch.long, device=self.device)
        self.loss = torch.zeros(E, device=self.device)  # the last step's loss per member
        self.active: torch.Tensor | None = None
        self.graphs = graphs and USE_GRAPHS and getattr(model, "cuda_graphs", True)
        self._step = Graphed(self._one_step, self.device, self.graphs)

    def _one_step(self) -> None:
        rows = self.idx.index_select(0, self.row)[0]  # (E, B): this step's minibatch
        self.row += 1
        with autocast(self.device, self.precision):
            out = self.model(self.xtr[rows])
        loss = self.loss_fn(out.float(), self.ytr[rows])
        grads = torch.autograd.grad(loss.sum(), self.params)
        torch.cat([g.reshape(len(g), -1) for g in grads], 1, out=self.grad)
        self.opt.step(self.grad, self.active)
        self.loss.copy_(loss.detach())

    def train(self, idx: torch.Tensor, active: torch.Tensor) -> None:
        assert self.active is None or active is self.active, "a captured step reads one `active` tensor"
        self.active = active
        if self.device.type == "cuda":
            idx = idx.pin_memory()
        self.idx[: len(idx)].copy_(idx, non_blocking=True)
        self.row.zero_()
        for _ in range(len(idx)):
            self._step()

    def graphed(self, fn: Callable[[], None]) -> Callable[[], None]:
        return Graphed(fn, self.device, self.graphs)

    def begin_anneal(self, anneal: Anneal, steps: torch.Tensor) -> None:
        """Switch to `anneal` (ensemble.begin_anneal) and capture the step anew: the graph of
        the main loop recorded the schedule's kernels, not the anneal's."""
        from .ensemble import begin_anneal  # ensemble.py imports this module

        begin_anneal(self.opt, anneal, steps)
        self._step = Graphed(self._one_step, self.device, self.graphs)


class Stopwatch:
    """Accumulated time of code regions; on CUDA measured with events, so it adds no host sync."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.pairs: list = []
        self.seconds = 0.0

    def __enter__(self):
        if self.cuda:
            self._start = torch.cuda.Event(enable_timing=True)
            self._start.record()
        else:
            self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        if self.cuda:
            end = torch.cuda.Event(enable_timing=True)
            end.record()
            self.pairs.append((self._start, end))
        else:
            self.seconds += time.perf_counter() - self._start

    def total(self) -> float:
        """Seconds so far (on CUDA: waits for the recorded regions to finish)."""
        for start, end in self.pairs:
            end.synchronize()
            self.seconds += start.elapsed_time(end) / 1000
        self.pairs.clear()
        return self.seconds
