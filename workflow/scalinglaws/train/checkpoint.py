"""Checkpoints of an ensemble job, so that preemption costs minutes, not the whole job.

A scheduler stops a job with SIGTERM (a time limit, preemption) and SIGKILLs it a little later.
The trainer saves its complete state at the end of an evaluation chunk when SIGTERM has arrived
(then exits), or when `every_s` seconds have passed since the last save. The state is complete
there: weights, optimizer moments and step, early-stopping bookkeeping and every member's batch
generator, so a resumed job continues exactly where it stopped and ends with the same numbers.
"""

from __future__ import annotations

import io
import signal
import time
from pathlib import Path

import torch

from ..errors import Preempted
from ..store import atomic_write_bytes


def _tensors(obj) -> list[torch.Tensor]:
    return list(obj) if isinstance(obj, (list, tuple)) else [obj]


def _copy_into(dst, src) -> None:
    for d, s in zip(_tensors(dst), _tensors(src)):
        d.copy_(s)  # in place: CUDA graphs captured before the resume keep pointing at them


class Checkpointer:
    """Save and restore one job's training state at `path`; listens for SIGTERM while active."""

    STOP_FIELDS = (
        "initial",
        "best_val",
        "best_state",
        "best_step",
        "since_best",
        "active",
        "diverged",
        "last_val",
        "budget",
        "ran_out",
    )

    def __init__(self, path: str | Path | None, every_s: float = 600.0):
        self.path = Path(path) if path else None
        self.every_s = every_s
        self.terminated = False
        self._last = time.monotonic()
        self._previous_handler = None

    def __enter__(self):
        if self.path is not None:
            self._previous_handler = signal.signal(signal.SIGTERM, self._on_sigterm)
        return self

    def __exit__(self, *exc):
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)

    def _on_sigterm(self, signum, frame) -> None:
        self.terminated = True  # acted on at the end of the current chunk

    def _state(self, trainer, stop, step: int, generators) -> dict:
        opt = trainer.opt
        return {
            "step": step,
            "weights": [t.detach().cpu() for t in trainer.state],
            "opt": {
                "m": [t.cpu() for t in _tensors(opt.m)],
                "v": [t.cpu() for t in _tensors(opt.v)],
                "t": opt.t.cpu() if torch.is_tensor(opt.t) else opt.t,
            },
            "stop": {f: [t.cpu() for t in _tensors(getattr(stop, f))] for f in self.STOP_FIELDS},
            "generators": [g.get_state() for g in generators],
        }

    def maybe_save(self, trainer, stop, step: int, generators) -> None:
        """At the end of a chunk: save if SIGTERM came or the interval passed; exit on SIGTERM."""
        if self.path is None or not (self.terminated or time.monotonic() - self._last > self.every_s):
            return
        buf = io.BytesIO()
        torch.save(self._state(trainer, stop, step, generators), buf)
        atomic_write_bytes(self.path, buf.getvalue())
        self._last = time.monotonic()
        if self.terminated:
            raise Preempted(f"stopped by SIGTERM at step {step}; checkpoint {self.path}: rerun to resume")

    @torch.no_grad()
    def restore(self, trainer, stop, generators) -> int:
        """Load the checkpoint into the live objects if there is one; return the step to resume at."""
        if self.path is None or not self.path.exists():
            return 0
        state = torch.load(self.path, weights_only=True)
        _copy_into(trainer.state, state["weights"])
        opt = trainer.opt
        _copy_into(opt.m, state["opt"]["m"])
        _copy_into(opt.v, state["opt"]["v"])
        if torch.is_tensor(opt.t):
            opt.t.copy_(state["opt"]["t"])
        else:
            opt.t = state["opt"]["t"]
        for f in self.STOP_FIELDS:
            _copy_into(getattr(stop, f), state["stop"][f])
        for g, s in zip(generators, state["generators"]):
            g.set_state(s)
        return int(state["step"])

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
