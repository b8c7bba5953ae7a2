"""CNN family for images: size = channel width c.

`depth` blocks of (3x3 convolution, ReLU, 2x2 max-pool) with c, 2c, 4c, ... channels, then a
linear classifier on the flattened features. The E members run as one grouped convolution
(members stacked along the channel axis, groups = E), so one kernel launch serves them all.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import Ensemble, StackedLinear, layer_seeds, member_normal

ACTIVATION_BUDGET = 2**25  # activation values per evaluation chunk (all members together)


class StackedConv2d(torch.nn.Module):
    """E independent k x k convolutions (same padding) over input (B, E * c_in, H, W)."""

    def __init__(self, seeds: list[int], c_in: int, c_out: int, k: int = 3):
        super().__init__()
        fan_in = c_in * k * k
        self.weight = torch.nn.Parameter(member_normal(seeds, (c_out, c_in, k, k), math.sqrt(2.0 / fan_in)))
        self.bias = torch.nn.Parameter(torch.zeros(len(seeds), c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        E = self.weight.shape[0]
        return F.conv2d(x, self.weight.flatten(0, 1), self.bias.flatten(), padding=self.weight.shape[-1] // 2, groups=E)


class CNNEnsemble(Ensemble):
    def __init__(self, seeds: list[int], size: int, input_shape: tuple[int, ...], num_outputs: int, depth: int):
        super().__init__(seeds)
        if len(input_shape) != 3:
            raise ValueError(
                f"models: the cnn family needs image inputs (channels, height, width), got shape {input_shape}"
            )
        c, h, w = input_shape
        if min(h, w) < 2**depth:
            raise ValueError(f"models: cnn depth {depth} pools {h}x{w} images below one pixel; use a smaller depth")
        widths = [c] + [int(size) * 2**i for i in range(int(depth))]
        self.convs = torch.nn.ModuleList(
            StackedConv2d(layer_seeds(seeds, i), a, b) for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))
        )
        self.out_hw = (h >> depth, w >> depth)
        features = widths[-1] * self.out_hw[0] * self.out_hw[1]
        self.head = StackedLinear(layer_seeds(seeds, depth), features, num_outputs, gain=1.0)
        self.input_shape = input_shape
        # multiply-accumulates per example: each conv output value costs c_in * 9
        self.macs = sum(a * 9 * b * (h >> i) * (w >> i) for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])))
        self.macs += features * num_outputs
        self.activations = sum(b * (h >> i) * (w >> i) for i, b in enumerate(widths[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (E, B, C, H, W)
        E, B = x.shape[:2]
        h = x.transpose(0, 1).reshape(B, E * x.shape[2], *x.shape[3:])
        for conv in self.convs:
            h = F.max_pool2d(torch.relu(conv(h)), 2)
        h = h.reshape(B, E, -1).transpose(0, 1)  # (E, B, features), each member's own channels
        return self.head(h)

    def flops_per_example(self) -> float:
        return 6.0 * self.macs  # 2 FLOPs per multiply-accumulate, forward and twice that backward

    def eval_rows(self, budget: int) -> int:
        return max(1, min(budget, ACTIVATION_BUDGET // (self.members * self.activations)))
