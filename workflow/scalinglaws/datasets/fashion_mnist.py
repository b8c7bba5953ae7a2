"""Fashion-MNIST from Debian's `dataset-fashion-mnist` package (gzip IDX files).

The 60k training images are put in one fixed order (seeded); the first `val_size` of that order
are the validation set and the rest is the pool. The official 10k test set is the test set.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from .base import DataError, Dataset, Split

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train_x": "train-images-idx3-ubyte.gz",
    "train_y": "train-labels-idx1-ubyte.gz",
    "test_x": "t10k-images-idx3-ubyte.gz",
    "test_y": "t10k-labels-idx1-ubyte.gz",
}
MEAN, STD = 0.2860, 0.3530  # pixel mean and std of the training images, for standardising
INSTALL_HINT = "install it with: sudo apt-get install dataset-fashion-mnist"


def read_idx(path: Path) -> np.ndarray:
    """Parse a gzip IDX file (magic: two zero bytes, a type code, the number of dimensions)."""
    raw = gzip.decompress(path.read_bytes())
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DataError(f"{path}: truncated IDX file ({data.size} values, header says {shape})")
    return data.reshape(shape)


@lru_cache(maxsize=4)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


class FashionMNIST(Dataset):
    task = "classification"
    metric = "error"
    input_shape = (1, 28, 28)
    num_outputs = 10
    defaults = {"root": DEFAULT_ROOT, "val_size": 10000}

    def __init__(self, name: str, options: dict, seed: int):
        super().__init__(name, {**self.defaults, **options}, seed)
        self.root = Path(self.options["root"])
        missing = [f for f in FILES.values() if not (self.root / f).is_file()]
        if missing:
            raise DataError(
                f"dataset '{name}': Fashion-MNIST files not found in {self.root} "
                f"(missing {', '.join(missing)}); {INSTALL_HINT}"
            )
        self.val_size = int(self.options["val_size"])

    def content_options(self) -> dict:
        # Identify the data by the files' content, not by where they are installed.
        files = {}
        for key, name in FILES.items():
            st = (self.root / name).stat()
            files[key] = _file_digest(str(self.root / name), st.st_size, st.st_mtime_ns)
        return {"val_size": self.val_size, "files": files}

    @property
    def pool_size(self) -> int:
        return 60000 - self.val_size

    def _order(self) -> np.ndarray:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, 0]))).permutation(60000)

    def _load(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        x = read_idx(self.root / FILES[f"{part}_x"])
        y = read_idx(self.root / FILES[f"{part}_y"])
        x = ((x.astype(np.float32) / 255.0 - MEAN) / STD)[:, None, :, :]
        return x, y.astype(np.int64)

    def shard(self, n: int) -> Split:
        self.check_shard(n)
        x, y = self._load("train")
        idx = self._order()[self.val_size : self.val_size + n]
        return Split(x[idx], y[idx])

    def eval_splits(self) -> dict[str, Split]:
        x, y = self._load("train")
        idx = self._order()[: self.val_size]
        tx, ty = self._load("test")
        return {"val": Split(x[idx], y[idx]), "test": Split(tx, ty)}
