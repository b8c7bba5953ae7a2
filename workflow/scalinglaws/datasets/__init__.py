"""Stage 1, data: each dataset's pool in a fixed order, its validation and test sets, and shards.

Takes a dataset's config; gives shard n (the first n examples of the pool, shards.py gives the
schedule) and the eval splits, stored by content (study.py names them). The registry below maps
a config's `type` (default: its key in `datasets`) to a class; add a dataset here.

`type` is a registered name (`files` reads a user's own arrays or CSV files), or
"file.py:Class" / "module:Class" for a user's own Dataset subclass (see user.py).
"""

from __future__ import annotations

import inspect
from pathlib import Path

from .base import DataError, Dataset, Split
from .calibration import CalibrationDataset
from .fashion_mnist import FashionMNIST
from .files import FileDataset
from .functions import FunctionsDataset
from .splits import Splits
from .teacher import TeacherDataset
from .text import TextDataset
from .user import load_class

REGISTRY: dict[str, type[Dataset]] = {
    "teacher": TeacherDataset,
    "fashion-mnist": FashionMNIST,
    "text": TextDataset,
    "functions": FunctionsDataset,
    "calibration": CalibrationDataset,
    "files": FileDataset,
}


def dataset_class(name: str, kind: str) -> type[Dataset]:
    if ":" in kind:
        return load_class(kind, f"datasets.{name}.type")
    if kind not in REGISTRY:
        raise DataError(
            f"datasets.{name}.type: unknown dataset '{kind}' (known: {', '.join(sorted(REGISTRY))}, "
            "or 'file.py:Class' for your own)"
        )
    return REGISTRY[kind]


def make_dataset(name: str, options: dict, seed: int) -> Dataset:
    """Build the dataset called `name` in the config; its `type` picks the class."""
    options = dict(options)
    kind = options.pop("type", name)
    options.pop("shards", None)  # a per-dataset shard schedule is the study's business
    return dataset_class(name, kind)(name, options, seed)


def code_version(ds: Dataset) -> str:
    """Hash of the normalised code of every class the dataset is made of, in the package or a
    user's file (identity.code_version: comments, docstrings and formatting do not count)."""
    from ..identity import code_version as normalized_code_version

    files = {Path(inspect.getsourcefile(cls)).resolve() for cls in type(ds).__mro__ if issubclass(cls, Dataset)}
    return normalized_code_version(*files)


__all__ = ["Dataset", "DataError", "Split", "Splits", "make_dataset", "code_version", "REGISTRY"]
