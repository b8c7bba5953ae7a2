"""MLP family: size = hidden width, `depth` hidden layers, ReLU."""

from __future__ import annotations

import math

import torch

from .base import Ensemble, StackedLinear


class MLPEnsemble(Ensemble):
    def __init__(self, seeds: list[int], size: int, input_shape: tuple[int, ...], num_outputs: int, depth: int):
        super().__init__(seeds)
        dims = [math.prod(input_shape)] + [int(size)] * int(depth) + [num_outputs]
        # distinct seeds per layer so that layers of equal shape are not identical
        self.layers = torch.nn.ModuleList(
            StackedLinear([s * 1000 + i for s in seeds], a, b, gain=math.sqrt(2.0) if i < depth else 1.0)
            for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(2)
        for layer in self.layers[:-1]:
            h = torch.relu(layer(h))
        return self.layers[-1](h)
