"""A dataset from the user's files: a pool given as a list of chunk files that grows by appending.

The pool's fixed order is the chunks in the listed order, rows in file order. Appending rows
to the last chunk or appending a new chunk never reorders what existed, so every existing
shard keeps its content and therefore its identity (a hash of the shard's rows themselves,
not of file names or timestamps: touching or rewriting a file with the same rows changes
nothing).

Chunk formats: `.npz` with arrays `x` and `y`, or `.csv` whose `target` column is y and whose
other columns are the features.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from .base import DataError, Dataset, Split


@lru_cache(maxsize=64)
def _read_chunk(path: str, size: int, mtime_ns: int, target: str) -> tuple[np.ndarray, np.ndarray]:
    """Read one chunk; cached per (path, size, mtime) so one process reads each file once."""
    p = Path(path)
    try:
        if p.suffix == ".npz":
            with np.load(p) as f:
                x, y = f["x"], f["y"]
        elif p.suffix == ".csv":
            import pandas as pd

            df = pd.read_csv(p)
            if target not in df.columns:
                raise DataError(f"{p}: no column '{target}' (the target); columns are {list(df.columns)}")
            y = df[target].to_numpy()
            x = df.drop(columns=[target]).to_numpy(np.float32)
        else:
            raise DataError(f"{p}: unsupported chunk format '{p.suffix}' (use .npz with x, y or .csv)")
    except (OSError, KeyError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{p}: cannot read dataset chunk: {exc}") from None
    if len(x) != len(y):
        raise DataError(f"{p}: x has {len(x)} rows but y has {len(y)}")
    return np.asarray(x, np.float32), np.asarray(y)


class FileDataset(Dataset):
    defaults = {"task": "regression", "num_classes": 0, "target": "y", "val": None, "test": None}

    def __init__(self, name: str, options: dict, seed: int):
        super().__init__(name, {**self.defaults, **options}, seed)
        o = self.options
        if not o.get("pool"):
            raise DataError(f"datasets.{name}.pool: give the list of chunk files that make up the pool")
        for key in ("val", "test"):
            if not o.get(key):
                raise DataError(f"datasets.{name}.{key}: give the file of the fixed {key} set")
        if o["task"] not in ("regression", "classification"):
            raise DataError(f"datasets.{name}.task: must be 'regression' or 'classification', not {o['task']!r}")
        self.task = o["task"]
        self.metric = "error" if self.task == "classification" else "mse"
        if self.task == "classification" and int(o["num_classes"]) < 2:
            raise DataError(f"datasets.{name}.num_classes: give the number of classes (>= 2)")
        self.num_outputs = int(o["num_classes"]) if self.task == "classification" else 1
        self.chunks = [Path(p) for p in ([o["pool"]] if isinstance(o["pool"], str) else o["pool"])]
        first = self._chunk(self.chunks[0])
        self.input_shape = first[0].shape[1:]

    def _chunk(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        try:
            st = path.stat()
        except OSError:
            raise DataError(f"datasets.{self.name}: file not found: {path}") from None
        x, y = _read_chunk(str(path), st.st_size, st.st_mtime_ns, self.options["target"])
        if self.task == "regression":
            y = y.astype(np.float32).reshape(len(y), -1)
        else:
            y = y.astype(np.int64)
        return x, y

    def rebuild_options(self, n: int | None) -> dict:
        """Only the chunks that shard n reaches into: appending chunks leaves this unchanged."""
        options = {k: v for k, v in self.options.items() if k != "pool"}
        if n is not None:
            needed, have = [], 0
            for path in self.chunks:
                if have >= n:
                    break
                needed.append(str(path))
                have += len(self._chunk(path)[1])
            options["pool"] = needed
        else:
            options["pool"] = [str(self.chunks[0])]  # the eval splits need no pool
        return options

    @property
    def pool_size(self) -> int:
        return sum(len(self._chunk(p)[1]) for p in self.chunks)

    def shard(self, n: int) -> Split:
        self.check_shard(n)
        xs, ys, have = [], [], 0
        for path in self.chunks:
            if have >= n:
                break
            x, y = self._chunk(path)
            xs.append(x[: n - have])
            ys.append(y[: n - have])
            have += len(xs[-1])
        return Split(np.concatenate(xs), np.concatenate(ys))

    def eval_splits(self) -> dict[str, Split]:
        return {key: Split(*self._chunk(Path(self.options[key]))) for key in ("val", "test")}

    # Identities are hashes of the examples, not of paths, timestamps or the study's seed.
    def identity(self) -> dict:
        return {"type": type(self).__name__, "options": {k: self.options[k] for k in ("task", "num_classes")}}

    @staticmethod
    def _hash(split: Split) -> str:
        h = hashlib.sha256()
        for arr in (split.x, split.y):
            arr = np.ascontiguousarray(arr)
            h.update(str((arr.dtype.str, arr.shape)).encode())
            h.update(arr.tobytes())
        return h.hexdigest()[:24]

    def shard_identity(self, n: int) -> dict:
        return {"dataset": self.identity(), "n": int(n), "rows": self._hash(self.shard(n))}

    def eval_identity(self) -> dict:
        splits = self.eval_splits()
        return {"dataset": self.identity(), "eval": {k: self._hash(v) for k, v in splits.items()}}
