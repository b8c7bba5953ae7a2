"""A user's own Dataset subclass, without editing the package.

`type: "path/to/file.py:ClassName"` (a path relative to the working directory) or
`type: "package.module:ClassName"` (importable from PYTHONPATH) loads that class, which must
subclass `scalinglaws.datasets.Dataset`. Its source file enters the identity of its shards, so
editing it reruns exactly the work it determines. (Plain arrays or CSV files need no code:
the `files` dataset reads them.)
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from .base import DataError, Dataset


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
