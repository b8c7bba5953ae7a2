"""Users' own datasets, without editing the package: a Dataset subclass in their own file, or
an .npz file of arrays.

- `type: "path/to/file.py:ClassName"` (a path relative to the working directory) or
  `type: "package.module:ClassName"` (importable from PYTHONPATH) loads that class, which must
  subclass `scalinglaws.datasets.Dataset`. Its source file enters the identity of its shards,
  so editing it reruns exactly the work it determines.
- `type: npz` with `path: data.npz` reads the arrays `x`, `y` (the pool), `val_x`, `val_y`,
  `test_x`, `test_y`. Integer `y` means classification (metric: error rate), floating `y`
  regression (metric: MSE); `task` and `metric` options override. The pool is put in a fixed
  order seeded by the config's `seed` (`shuffle: false` keeps the file's order).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

import numpy as np

from .base import Dataset, DataError, Split

NPZ_ARRAYS = ("x", "y", "val_x", "val_y", "test_x", "test_y")
METRICS = {"classification": "error", "regression": "mse"}


def load_class(spec: str, field: str) -> type[Dataset]:
    """The Dataset subclass named by "file.py:Class" or "module:Class"."""
    where, _, attr = spec.rpartition(":")
    try:
        if where.endswith(".py"):
            path = Path(where).resolve()
            if not path.is_file():
                raise DataError(f"{field}: file {where} not found (paths are relative to the working directory)")
            name = "scalinglaws_user_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
            module = sys.modules.get(name)
            if module is None:
                loader = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(loader)
                sys.modules[name] = module
                loader.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except ImportError as exc:
        raise DataError(f"{field}: cannot import '{where}': {exc}") from None
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Dataset)):
        raise DataError(f"{field}: '{attr}' in {where} is not a subclass of scalinglaws.datasets.Dataset")
    return cls


class NpzDataset(Dataset):
    defaults = {"shuffle": True}

    def __init__(self, name: str, options: dict, seed: int):
        super().__init__(name, {**self.defaults, **options}, seed)
        if "path" not in self.options:
            raise DataError(f"datasets.{name}.path: an npz dataset needs the path of its .npz file")
        self.path = Path(self.options["path"])
        if not self.path.is_file():
            raise DataError(f"datasets.{name}.path: file {self.path} not found")
        with np.load(self.path) as f:
            missing = [a for a in NPZ_ARRAYS if a not in f.files]
            if missing:
                raise DataError(f"datasets.{name}.path: {self.path} lacks the arrays {', '.join(missing)}")
            self.arrays = {a: f[a] for a in NPZ_ARRAYS}
        y = self.arrays["y"]
        self.task = self.options.get("task", "classification" if np.issubdtype(y.dtype, np.integer) else "regression")
        if self.task not in METRICS:
            raise DataError(f"datasets.{name}.task: '{self.task}' is not one of {', '.join(METRICS)}")
        self.metric = self.options.get("metric", METRICS[self.task])
        if self.metric not in ("mse", "rmse", "error"):
            raise DataError(f"datasets.{name}.metric: '{self.metric}' is not one of mse, rmse, error")
        self.input_shape = tuple(self.arrays["x"].shape[1:])
        if self.task == "classification":
            self.num_outputs = int(max(self.arrays[k].max() for k in ("y", "val_y", "test_y"))) + 1
        else:
            self.num_outputs = int(np.prod(y.shape[1:])) if y.ndim > 1 else 1

    def content_options(self) -> dict:
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]
        return {**{k: v for k, v in self.options.items() if k != "path"}, "file": digest}

    def _split(self, prefix: str, index=slice(None)) -> Split:
        x, y = self.arrays[prefix + "x"][index], self.arrays[prefix + "y"][index]
        if self.task == "classification":
            return Split(x.astype(np.float32), y.astype(np.int64))
        return Split(x.astype(np.float32), y.astype(np.float32).reshape(len(y), -1))

    @property
    def pool_size(self) -> int:
        return len(self.arrays["y"])

    def shard(self, n: int) -> Split:
        self.check_shard(n)
        order = np.arange(self.pool_size)
        if self.options["shuffle"]:
            order = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, 0]))).permutation(order)
        return self._split("", order[:n])

    def eval_splits(self) -> dict[str, Split]:
        return {"val": self._split("val_"), "test": self._split("test_")}
