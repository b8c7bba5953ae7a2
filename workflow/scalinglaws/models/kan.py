"""KAN family: Kolmogorov-Arnold networks (Liu et al. 2024).

Every edge i -> j of a layer carries its own learnable function
    phi_ij(x) = wb_ij * silu(x) + sum_c coef_ijc * B_c(x),
where B_c are the G + 3 cubic B-splines on a uniform grid of G intervals over `grid_range`
(extended by 3 knots on each side); node j sums its incoming edges (plus a bias). Outside
`grid_range` the splines vanish and only the SiLU branch remains. The grid is fixed: no grid
updates or extension during training.

size = hidden width (`depth` hidden layers, grid `grid`); with `size_is: grid` the sizes are
grid sizes G instead, for the KAN paper's scaling in G at a fixed shape (`width`, `depth`).
"""

from __future__ import annotations

import math

import torch

from .base import Ensemble, StackedLinear, layer_seeds, member_normal

ORDER = 3  # cubic splines


def uniform_knots(grid: int, lo: float, hi: float, order: int = ORDER) -> torch.Tensor:
    """G + 2k + 1 knots: the grid's G + 1 points plus k more on each side."""
    h = (hi - lo) / grid
    return lo + h * torch.arange(-order, grid + order + 1, dtype=torch.float32)


def bspline_basis(x: torch.Tensor, knots: torch.Tensor, order: int = ORDER) -> torch.Tensor:
    """All B-splines of `order` on `knots` at x: shape x.shape + (len(knots) - order - 1,).

    The Cox-de Boor recursion, vectorised over the basis index: start from the indicator of each
    knot interval (order 0) and raise the order one step at a time.
    """
    x = x.unsqueeze(-1)
    t = knots
    b = ((x >= t[:-1]) & (x < t[1:])).to(x.dtype)
    for p in range(1, order + 1):
        left = (x - t[: -(p + 1)]) / (t[p:-1] - t[: -(p + 1)]) * b[..., :-1]
        right = (t[p + 1 :] - x) / (t[p + 1 :] - t[1:-p]) * b[..., 1:]
        b = left + right
    return b


class KANLayer(torch.nn.Module):
    """E independent KAN layers: (E, B, fan_in) -> (E, B, fan_out)."""

    def __init__(
        self, seeds: list[int], fan_in: int, fan_out: int, grid: int, grid_range=(-1.0, 1.0), spline_std: float = 0.1
    ):
        super().__init__()
        self.register_buffer("knots", uniform_knots(grid, *grid_range))
        self.base = StackedLinear(layer_seeds(seeds, 0), fan_in, fan_out, gain=1.0)  # wb and the bias
        basis = grid + ORDER
        self.coef = torch.nn.Parameter(
            member_normal(layer_seeds(seeds, 1), (fan_in, basis, fan_out), spline_std / math.sqrt(fan_in))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        basis = bspline_basis(x.float(), self.knots)  # (E, B, fan_in, G + 3); fp32 even under bf16 autocast
        spline = torch.bmm(basis.flatten(2), self.coef.flatten(1, 2))
        return self.base(torch.nn.functional.silu(x)) + spline


class KANEnsemble(Ensemble):
    def __init__(
        self,
        seeds: list[int],
        size: int,
        input_shape: tuple[int, ...],
        num_outputs: int,
        depth: int,
        grid_range,
        **knobs,
    ):
        """`knobs`: `size_is` ("width": `size` is the hidden width and `grid` the grid;
        "grid": `size` is the grid and `width` the hidden width)."""
        super().__init__(seeds)
        size_is = knobs["size_is"]
        if size_is not in ("width", "grid"):
            raise ValueError(f"models: kan size_is must be 'width' or 'grid', got '{size_is}'")
        width, grid = (int(size), int(knobs["grid"])) if size_is == "width" else (int(knobs["width"]), int(size))
        dims = [math.prod(input_shape)] + [width] * int(depth) + [num_outputs]
        self.layers = torch.nn.ModuleList(
            KANLayer(layer_seeds(seeds, i), a, b, grid, tuple(grid_range))
            for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(2)
        for layer in self.layers:
            h = layer(h)
        return h
