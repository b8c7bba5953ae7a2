"""Dataset registry: a config names a dataset by `type` (default: its key in `datasets`)."""
from __future__ import annotations

from .base import Dataset, DataError, Split
from .fashion_mnist import FashionMNIST
from .files import FileDataset
from .teacher import TeacherDataset

REGISTRY: dict[str, type[Dataset]] = {
    "teacher": TeacherDataset,
    "fashion-mnist": FashionMNIST,
    "files": FileDataset,
}


def make_dataset(name: str, options: dict, seed: int) -> Dataset:
    """Build the dataset called `name` in the config; its `type` picks the class."""
    options = dict(options)
    kind = options.pop("type", name)
    options.pop("shards", None)  # a per-dataset shard schedule is the study's business
    if kind not in REGISTRY:
        raise DataError(f"datasets.{name}.type: unknown dataset '{kind}' (known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[kind](name, options, seed)


__all__ = ["Dataset", "DataError", "Split", "make_dataset", "REGISTRY"]
