"""Linear family: a linear model on the first `size` input features (all when size >= their number).

The learner the calibration dataset's theory is about: its features come sorted by variance,
so `size` truncates the spectrum, and with size >= the input dimension the model contains the
linear teacher. Weights start at zero (every member alike); members differ in batch order.
"""

from __future__ import annotations

import math

import torch

from .base import Ensemble, StackedLinear


class LinearEnsemble(Ensemble):
    def __init__(self, seeds: list[int], size: int, input_shape: tuple[int, ...], num_outputs: int):
        super().__init__(seeds)
        self.features = min(int(size), math.prod(input_shape))
        self.layer = StackedLinear(seeds, self.features, num_outputs, gain=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x.flatten(2)[..., : self.features])
