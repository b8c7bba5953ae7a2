"""Batched ensembles: E independent models held as stacked tensors, trained in one process.

Member e's parameters are slice e of every tensor, initialised from that member's own seed, so a
member's numbers do not depend on which other members share its ensemble.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def member_generator(seed: int, stream: int) -> torch.Generator:
    """A CPU generator for one member and one purpose (0: init, 1: batch order)."""
    state = np.random.SeedSequence([int(seed), stream]).generate_state(2, dtype=np.uint64)
    return torch.Generator().manual_seed(int(state[0] % (2**63)))


class StackedLinear(nn.Module):
    """E independent linear layers: y[e] = x[e] @ W[e] + b[e], computed with one baddbmm."""

    def __init__(self, seeds: list[int], fan_in: int, fan_out: int, gain: float = math.sqrt(2.0)):
        super().__init__()
        weights = []
        for seed in seeds:
            g = member_generator(seed, 0)
            # a different draw per layer shape; the seed alone fixes it
            weights.append(torch.randn(fan_in, fan_out, generator=g) * (gain / math.sqrt(fan_in)))
        self.weight = nn.Parameter(torch.stack(weights))
        self.bias = nn.Parameter(torch.zeros(len(seeds), 1, fan_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (E, B, fan_in)
        return torch.baddbmm(self.bias, x, self.weight)


class Ensemble(nn.Module):
    """Base for a family's ensemble. forward: (E, B, *input_shape) -> (E, B, num_outputs)."""

    def __init__(self, seeds: list[int]):
        super().__init__()
        self.members = len(seeds)

    def param_count(self) -> int:
        """Parameters of one member."""
        return sum(p.numel() for p in self.parameters()) // self.members

    def flops_per_example(self) -> float:
        """Training FLOPs of one member per example: 6 per parameter (forward and backward)."""
        return 6.0 * self.param_count()

    def eval_rows(self, budget: int) -> int:
        """Examples per evaluation chunk; families with large activations per example take fewer."""
        return budget

    def member_buffers(self) -> list[torch.Tensor]:
        """Per-member state that training changes besides the parameters (a user's BatchNorm
        statistics): early stopping and checkpoints keep it with the weights."""
        return []


def layer_seeds(seeds: list[int], index: int) -> list[int]:
    """Per-member seeds for a model's `index`-th tensor, so tensors of equal shape differ."""
    return [s * 1000 + index for s in seeds]


def member_normal(seeds: list[int], shape: tuple[int, ...], std: float) -> torch.Tensor:
    """(E, *shape) normal draws times `std`; slice e comes from member e's own seed alone."""
    return torch.stack([torch.randn(shape, generator=member_generator(s, 0)) * std for s in seeds])
