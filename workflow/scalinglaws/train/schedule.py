"""Learning-rate schedules: the factor that multiplies every member's learning rate at step t.

`constant` (no factor at all, so constant runs keep their exact numbers), `cosine` and `linear`
decay from the peak to FLOOR x the peak over the job's initial step budget, each after an
optional linear warm-up over the first `warmup` fraction of that budget. Past the budget (a
member whose training is extended, see trainer.py) the factor stays at FLOOR. The factor is
computed with torch ops from the optimiser's step counter, a device tensor on the GPU fast path,
so that a captured CUDA graph applies the right factor on every replay.
"""

from __future__ import annotations

import math

import torch

SCHEDULES = ("constant", "cosine", "linear")
FLOOR = 0.1  # decay to 10% of the peak learning rate, as Hoffmann et al. 2022 do


class Schedule:
    def __init__(self, kind: str, warmup: float, budget: int):
        if kind not in SCHEDULES:
            raise ValueError(f"training.schedule: unknown schedule '{kind}' (known: {', '.join(SCHEDULES)})")
        self.kind, self.budget = kind, max(int(budget), 1)
        self.warmup_steps = int(round(warmup * self.budget))

    @property
    def is_constant(self) -> bool:
        return self.kind == "constant" and self.warmup_steps == 0

    def factor(self, t: torch.Tensor) -> torch.Tensor:
        """The factor at step t (1 for the first step), as a tensor on t's device."""
        t = t.to(torch.float64)
        f = torch.ones_like(t)
        if self.warmup_steps:
            f = torch.clamp(t / self.warmup_steps, max=1.0)
        if self.kind == "constant":
            return f
        span = max(self.budget - self.warmup_steps, 1)
        progress = torch.clamp((t - self.warmup_steps) / span, 0.0, 1.0)
        if self.kind == "cosine":
            decay = FLOOR + (1 - FLOOR) * 0.5 * (1 + torch.cos(math.pi * progress))
        else:
            decay = 1 - (1 - FLOOR) * progress
        return f * decay

    def apply(self, base: torch.Tensor, t: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """out = base * factor(t), in place (out is what the optimiser reads); base if constant."""
        if self.is_constant:
            return base
        torch.mul(base, self.factor(t).to(base.dtype), out=out)
        return out
