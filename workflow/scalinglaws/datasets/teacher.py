"""Teacher-student regression: a fixed random MLP teacher on Gaussian inputs, plus label noise.

The pool is generated in fixed-size chunks, each from its own seed, so shard n needs only the
first ceil(n / CHUNK) chunks however large the configured pool is, and a larger pool never
changes the examples before it. The irreducible error is the noise variance.
"""
from __future__ import annotations

import numpy as np

from .base import Dataset, Split

CHUNK = 4096
_TEACHER, _POOL, _VAL, _TEST, _NORM = range(5)  # independent random streams


class TeacherDataset(Dataset):
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
        super().__init__(name, {**self.defaults, **options}, seed)
        o = self.options
        self.input_shape = (int(o["input_dim"]),)
        self._weights = self._make_teacher()
        self._shift, self._scale = 0.0, 1.0
        out = self._teacher(self._rng(_NORM).standard_normal((8192, self.input_shape[0])))
        self._shift, self._scale = float(out.mean()), float(out.std())

    def _rng(self, stream: int, index: int = 0) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, stream, index])))

    def _make_teacher(self) -> list[tuple[np.ndarray, np.ndarray]]:
        o, rng = self.options, self._rng(_TEACHER)
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

    def _sample(self, rng: np.random.Generator, n: int) -> Split:
        x = rng.standard_normal((n, self.input_shape[0]))
        y = self._teacher(x) + float(self.options["noise_std"]) * rng.standard_normal(n)
        return Split(x.astype(np.float32), y.astype(np.float32)[:, None])

    @property
    def pool_size(self) -> int:
        return int(self.options["pool_size"])

    def shard(self, n: int) -> Split:
        self.check_shard(n)
        chunks = [self._sample(self._rng(_POOL, i), CHUNK) for i in range(-(-n // CHUNK))]
        return Split(np.concatenate([c.x for c in chunks])[:n], np.concatenate([c.y for c in chunks])[:n])

    def eval_splits(self) -> dict[str, Split]:
        o = self.options
        return {
            "val": self._sample(self._rng(_VAL), int(o["val_size"])),
            "test": self._sample(self._rng(_TEST), int(o["test_size"])),
        }

    def rebuild_options(self, n: int | None) -> dict:
        return {**self.content_options(), "pool_size": n or 1}

    def content_options(self) -> dict:
        # The pool size does not change any example: growing the pool keeps every identity.
        return {k: v for k, v in self.options.items() if k != "pool_size"}
