"""Byte-level language modelling on English text that Debian ships (default: `dict-gcide`).

The corpus is read as raw bytes (the vocabulary is the 256 byte values), cut into blocks of
`block_size` bytes, and the blocks are put in one fixed seeded order, so that every part of the
stream looks like the whole corpus (a dictionary is sorted: its first megabytes are all "A").
In that order, the first `val_tokens` bytes are the validation stream, the next `test_tokens`
the test stream, and the rest is the pool. Shard n is the first n tokens of the pool.

Examples are non-overlapping windows of `context` bytes: x = tokens[i*c : (i+1)*c] and y is the
same window shifted by one byte (n tokens make n // c windows). The metric is the loss in bits
per byte, which for bytes is the cross-entropy in bits per token.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from .base import DataError, Dataset, Split

DEFAULT_PATH = "/usr/share/dictd/gcide.dict.dz"
INSTALL_HINT = "install it with: sudo apt-get install dict-gcide, or point `path` at any text file"


@lru_cache(maxsize=2)
def _read(path: str, size: int, mtime_ns: int) -> tuple[np.ndarray, str]:
    """The file's bytes (gunzipped when it is gzip, as dictzip .dz files are) and their digest."""
    raw = Path(path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return np.frombuffer(raw, dtype=np.uint8), digest


def windows(tokens: np.ndarray, count: int, context: int) -> Split:
    """`count` consecutive windows of `context` tokens and their next-token targets."""
    m = count * context
    return Split(tokens[:m].reshape(count, context).copy(), tokens[1 : m + 1].reshape(count, context).copy())


class TextDataset(Dataset):
    task = "lm"
    metric = "bpb"
    num_outputs = 256
    defaults = {"path": DEFAULT_PATH, "context": 128, "block_size": 1024, "val_tokens": 65536, "test_tokens": 131072}

    def __init__(self, name: str, options: dict, seed: int):
        super().__init__(name, {**self.defaults, **options}, seed)
        self.path = Path(self.options["path"])
        if not self.path.is_file():
            raise DataError(f"datasets.{name}.path: text file {self.path} not found; {INSTALL_HINT}")
        self.context = int(self.options["context"])
        self.input_shape = (self.context,)
        self.val_tokens, self.test_tokens = int(self.options["val_tokens"]), int(self.options["test_tokens"])
        for key in ("val_tokens", "test_tokens"):
            if int(self.options[key]) < self.context:
                raise DataError(
                    f"datasets.{name}.{key}: {self.options[key]} is smaller than the context ({self.context})"
                )
        if self.pool_size < self.context:
            raise DataError(f"datasets.{name}.path: {self.path} is too short for the validation and test streams")

    def _bytes(self) -> tuple[np.ndarray, str]:
        st = self.path.stat()
        return _read(str(self.path), st.st_size, st.st_mtime_ns)

    def content_options(self) -> dict:
        # Identify the corpus by its content, not by where it is installed.
        return {**{k: v for k, v in self.options.items() if k != "path"}, "file": self._bytes()[1]}

    def _stream(self) -> np.ndarray:
        data, block = self._bytes()[0], int(self.options["block_size"])
        blocks = data[: len(data) // block * block].reshape(-1, block)
        order = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, 0]))).permutation(len(blocks))
        return blocks[order].reshape(-1)

    def _regions(self) -> dict[str, np.ndarray]:
        """val, test and pool: disjoint stretches of the stream, each with one extra target byte."""
        s, v, t = self._stream(), self.val_tokens, self.test_tokens
        return {"val": s[: v + 1], "test": s[v + 1 : v + t + 2], "pool": s[v + t + 2 :]}

    @property
    def pool_size(self) -> int:
        block = int(self.options["block_size"])
        return self._bytes()[0].size // block * block - self.val_tokens - self.test_tokens - 3

    def check_shard(self, n: int, field: str = "shards") -> None:
        super().check_shard(n, field)
        if n < self.context:
            raise DataError(
                f"{field}: shard size {n} is smaller than dataset '{self.name}' context of {self.context} tokens"
            )

    def shard(self, n: int) -> Split:
        self.check_shard(n)
        return windows(self._regions()["pool"], n // self.context, self.context)

    def eval_splits(self) -> dict[str, Split]:
        r = self._regions()
        return {
            "val": windows(r["val"], self.val_tokens // self.context, self.context),
            "test": windows(r["test"], self.test_tokens // self.context, self.context),
        }
