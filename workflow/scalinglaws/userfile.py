"""A user's own code, named in the config as "path/to/file.py:name" or "package.module:name".

A path is relative to the working directory (where Snakemake runs); a module is imported from
PYTHONPATH. The file is loaded once per process under a name derived from its path, and its path
is returned too: the file's source enters the identity of the work it determines.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path


def is_user_code(kind: str) -> bool:
    """Whether a config `type` names user code ("file.py:name", "module:name") and not a built-in."""
    return ":" in kind


def load_attr(spec: str, field: str, error: type[Exception]) -> tuple[object, Path]:
    """(the object named by `spec`, its source file); `error(message)` names `field` otherwise."""
    where, _, attr = spec.rpartition(":")
    try:
        if where.endswith(".py"):
            path = Path(where).resolve()
            if not path.is_file():
                raise error(f"{field}: file {where} not found (paths are relative to the working directory)")
            name = "scalinglaws_user_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
            module = sys.modules.get(name)
            if module is None:
                loader = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(loader)
                sys.modules[name] = module
                try:
                    loader.loader.exec_module(module)
                except BaseException:
                    del sys.modules[name]  # a file that failed to load is not cached half-run
                    raise
        else:
            module = importlib.import_module(where)
            path = Path(module.__file__).resolve()
    except ImportError as exc:
        raise error(f"{field}: cannot import '{where}': {exc}") from None
    except SyntaxError as exc:
        raise error(f"{field}: {where} line {exc.lineno}: {exc.msg}") from None
    if not hasattr(module, attr):
        raise error(f"{field}: {where} has no '{attr}'")
    return getattr(module, attr), path
