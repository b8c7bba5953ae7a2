"""A user's own Dataset subclass, without editing the package.

`type: "path/to/file.py:ClassName"` (a path relative to the working directory) or
`type: "package.module:ClassName"` (importable from PYTHONPATH) loads that class, which must
subclass `scalinglaws.datasets.Dataset`. Its source file enters the identity of its shards, so
editing it reruns exactly the work it determines. (Plain arrays or CSV files need no code:
the `files` dataset reads them.)
"""

from __future__ import annotations

from ..userfile import load_attr
from .base import DataError, Dataset


def load_class(spec: str, field: str) -> type[Dataset]:
    """The Dataset subclass named by "file.py:Class" or "module:Class"."""
    cls, _ = load_attr(spec, field, DataError)
    where, _, attr = spec.rpartition(":")
    if not (isinstance(cls, type) and issubclass(cls, Dataset)):
        raise DataError(f"{field}: '{attr}' in {where} is not a subclass of scalinglaws.datasets.Dataset")
    return cls
