"""Teacher-student regression: a fixed random MLP teacher on Gaussian inputs, plus label noise.

The irreducible error is the noise variance.
"""

from __future__ import annotations

import numpy as np

from .base import Split
from .synthetic import EXTRA, PARAMS, SyntheticDataset


class TeacherDataset(SyntheticDataset):
    task = "regression"
    metric = "mse"

    defaults = {
        "input_dim": 8,
        "teacher_width": 64,
        "teacher_depth": 2,
        "noise_std": 0.1,
        "pool_size": 1_000_000,
        "val_size": 2048,
        "test_size": 4096,
    }

    def __init__(self, name: str, options: dict, seed: int):
        super().__init__(name, options, seed)
        o = self.options
        self.input_shape = (int(o["input_dim"]),)
        self._weights = self._make_teacher()
        self._shift, self._scale = 0.0, 1.0
        out = self._teacher(self.rng(EXTRA).standard_normal((8192, self.input_shape[0])))
        self._shift, self._scale = float(out.mean()), float(out.std())

    def _make_teacher(self) -> list[tuple[np.ndarray, np.ndarray]]:
        o, rng = self.options, self.rng(PARAMS)
        dims = [int(o["input_dim"])] + [int(o["teacher_width"])] * int(o["teacher_depth"]) + [1]
        return [
            (rng.standard_normal((a, b)) / np.sqrt(a), 0.1 * rng.standard_normal(b))
            for a, b in zip(dims[:-1], dims[1:])
        ]

    def _teacher(self, x: np.ndarray) -> np.ndarray:
        h = x
        for i, (w, b) in enumerate(self._weights):
            h = h @ w + b
            if i < len(self._weights) - 1:
                h = np.tanh(h)
        return (h[:, 0] - self._shift) / self._scale

    def sample(self, rng: np.random.Generator, n: int, split: str) -> Split:
        x = rng.standard_normal((n, self.input_shape[0]))
        y = self._teacher(x) + float(self.options["noise_std"]) * rng.standard_normal(n)
        return Split(x.astype(np.float32), y.astype(np.float32)[:, None])
