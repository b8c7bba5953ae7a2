"""Learning-rate schedules: the factor that multiplies every member's learning rate at step t.

`constant` (no factor at all, so constant runs keep their exact numbers), `cosine` and `linear`
decay from the peak to FLOOR x the peak over the job's initial step budget, each after an
optional linear warm-up over the first `warmup` fraction of that budget. Past the budget (a
member whose training is extended, see trainer.py) the factor stays at FLOOR. The factor is
computed with torch ops from the optimiser's step counter, a device tensor on the GPU fast path,
so that a captured CUDA graph applies the right factor on every replay.

`Anneal` is the phase after the main loop (trainer.py): the cooldown of warmup-stable-decay
(Hägele et al. 2024), each member's rate decaying linearly to zero from its best state, and the
short probe that the `optimizer` flag reads. Its factor is per member, from its own counter.
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


class Anneal:
    """A linear decay of each member's rate to zero over its own number of steps.

    Member e's rate at anneal step s (1 for the first) is base[e] x start[e] x (1 - s / length[e]),
    clamped at 0: the last of its steps has a rate of 0, and so have the steps after it, which
    the ensemble runs while longer members finish (its weights then stay where they are). The
    counter `s` is a device tensor advanced inside the step, so a captured CUDA graph replays it.
    """

    def __init__(self, lengths: torch.Tensor, start: torch.Tensor):
        self.steps = int(lengths.max()) if len(lengths) else 0  # what the ensemble runs
        self.lengths = lengths.to(torch.float64).clamp(min=1)
        self.start = start.to(device=lengths.device, dtype=torch.float64)
        self.s = torch.zeros((), dtype=torch.float64, device=lengths.device)

    def factor(self) -> torch.Tensor:
        """Each member's factor at the current counter (0 before the first step is not used)."""
        return self.start * torch.clamp(1 - self.s / self.lengths, 0.0, 1.0)

    def apply(self, base: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Advance the counter; out = base x factor, in place (base is (E,) or (E, 1))."""
        self.s += 1
        torch.mul(base, self.factor().to(base.dtype).view(base.shape), out=out)
        return out
