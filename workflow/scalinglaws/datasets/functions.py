"""Symbolic regression targets from the KAN paper (Liu et al. 2024, section 3.1).

Inputs are uniform on [-1, 1]^d; targets are the exact function values (plus optional Gaussian
noise of `noise_std`), and the metric is the test RMSE, as the paper reports it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import j0

from .base import DataError, Split
from .synthetic import SyntheticDataset

# name -> (input dimension, function of x with shape (n, d))
FUNCTIONS = {
    "bessel": (1, lambda x: j0(20 * x[:, 0])),  # J0(20x)
    "exp-sin": (2, lambda x: np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2)),  # exp(sin(pi x) + y^2)
    "xy": (2, lambda x: x[:, 0] * x[:, 1]),
    # exp(1/2 (sin(pi (x1^2 + x2^2)) + sin(pi (x3^2 + x4^2))))
    "exp-4d": (
        4,
        lambda x: np.exp(
            0.5 * (np.sin(np.pi * (x[:, 0] ** 2 + x[:, 1] ** 2)) + np.sin(np.pi * (x[:, 2] ** 2 + x[:, 3] ** 2)))
        ),
    ),
    "exp-100d": (
        100,
        lambda x: np.exp(np.mean(np.sin(np.pi * x / 2) ** 2, axis=1)),
    ),  # exp(1/100 sum sin^2(pi x_i / 2))
}


class FunctionsDataset(SyntheticDataset):
    task = "regression"
    metric = "rmse"
    defaults = {"function": "exp-sin", "noise_std": 0.0, "val_size": 1000, "test_size": 1000}

    def __init__(self, name: str, options: dict, seed: int):
        super().__init__(name, options, seed)
        fn = self.options["function"]
        if fn not in FUNCTIONS:
            raise DataError(f"datasets.{name}.function: unknown function '{fn}' (known: {', '.join(FUNCTIONS)})")
        dim, self.f = FUNCTIONS[fn]
        self.input_shape = (dim,)

    def sample(self, rng: np.random.Generator, n: int, split: str) -> Split:
        x = rng.uniform(-1.0, 1.0, size=(n, self.input_shape[0]))
        y = self.f(x) + float(self.options["noise_std"]) * rng.standard_normal(n)
        return Split(x.astype(np.float32), y.astype(np.float32)[:, None])
