"""Synthetic datasets: examples drawn on demand from seeded random streams.

The pool is generated in fixed-size chunks, each from its own seed, so shard n needs only the
first ceil(n / CHUNK) chunks however large the configured pool is, and a larger pool never
changes the examples before it. Validation and test sets come from streams of their own.
A subclass sets `input_shape` and implements `sample(rng, n, split)`.
"""

from __future__ import annotations

import numpy as np

from .base import Dataset, Split

CHUNK = 4096
PARAMS, POOL, VAL, TEST, EXTRA = range(5)  # independent random streams


class SyntheticDataset(Dataset):
    defaults = {"pool_size": 1_000_000, "val_size": 2048, "test_size": 4096}

    def __init__(self, name: str, options: dict, seed: int):
        super().__init__(name, {**SyntheticDataset.defaults, **self.defaults, **options}, seed)

    def rng(self, stream: int, index: int = 0) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, stream, index])))

    def sample(self, rng: np.random.Generator, n: int, split: str) -> Split:
        """n examples drawn with `rng`; `split` is "pool", "val" or "test"."""
        raise NotImplementedError

    @property
    def pool_size(self) -> int:
        return int(self.options["pool_size"])

    def shard(self, n: int) -> Split:
        self.check_shard(n)
        chunks = [self.sample(self.rng(POOL, i), CHUNK, "pool") for i in range(-(-n // CHUNK))]
        return Split(np.concatenate([c.x for c in chunks])[:n], np.concatenate([c.y for c in chunks])[:n])

    def eval_splits(self) -> dict[str, Split]:
        return {
            "val": self.sample(self.rng(VAL), int(self.options["val_size"]), "val"),
            "test": self.sample(self.rng(TEST), int(self.options["test_size"]), "test"),
        }

    def content_options(self) -> dict:
        # The pool size does not change any example: growing the pool keeps every identity.
        return {k: v for k, v in self.options.items() if k != "pool_size"}

    def rebuild_options(self, n: int | None) -> dict:
        return {**self.content_options(), "pool_size": n or 1}
