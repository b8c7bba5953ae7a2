"""What a stage's numbers depend on, beyond its config: the code it runs and the numeric
environment it runs in; and the provenance written next to every result.

Code is hashed in a normalised form: the module's syntax tree without docstrings (comments,
blank lines, formatting and line numbers never reach the tree), so reformatting or commenting
the code reruns nothing, and any change the interpreter can see reruns what the code computes.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def normalized_source(path: Path | str) -> str:
    """The module's syntax tree without docstrings, as text: what the interpreter executes."""
    st = os.stat(path)
    return _normalized(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=None)
def _normalized(path: str, mtime_ns: int, size: int) -> str:  # cached per version of the file
    tree = ast.parse(Path(path).read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


def _is_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def code_version(*modules: str | Path) -> str:
    """Hash of modules' normalised code: package paths ("train/trainer.py") or absolute paths.

    Modules are named by their path in the package (users' files by their file name), so the
    hash does not depend on where the package is installed.
    """
    h = hashlib.sha256()
    for module in sorted(map(str, modules)):
        path = Path(module) if os.path.isabs(module) else PACKAGE_DIR / module
        name = str(path.relative_to(PACKAGE_DIR)) if path.is_relative_to(PACKAGE_DIR) else path.name
        h.update(name.encode() + b"\0" + normalized_source(path).encode())
    return h.hexdigest()[:12]


def closure(*modules: str) -> list[str]:
    """The package modules that `modules` import, directly or not (relative imports only)."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        tree = ast.parse((PACKAGE_DIR / module).read_text())
        here = Path(module).parent
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = here
                for _ in range(node.level - 1):
                    base = base.parent
                parts = [node.module] if node.module else [alias.name for alias in node.names]
                todo += [m for m in (_module_file(base, p) for p in parts) if m]
    return sorted(seen)


def _module_file(base: Path, dotted: str) -> str | None:
    stem = base.joinpath(*dotted.split("."))
    for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
        if (PACKAGE_DIR / candidate).is_file():
            return str(candidate)
    return None


def stage_code(*modules: str) -> str:
    """Code identity of an analysis stage: its modules and everything they import."""
    return code_version(*closure(*modules))


# -- the numeric environment ----------------------------------------------------------------
def gpu_visible() -> bool:
    """Whether this machine shows an NVIDIA GPU to this process (no torch import: DAG speed)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    try:
        return any(os.scandir("/proc/driver/nvidia/gpus"))
    except OSError:
        return False


def torch_version() -> str:
    """major.minor of the installed torch, read from its metadata (importing torch takes seconds)."""
    try:
        return ".".join(metadata.version("torch").split(".")[:2])
    except metadata.PackageNotFoundError:
        return "none"


def numerics(device: str, precision: str) -> tuple[dict, str]:
    """(environment that changes a run's numbers, precision in effect) for a config's device.

    `auto` is resolved here, on the machine that plans the study; a job that finds another
    device refuses to run (train/job.py). On CPU, TF32 does not exist: tf32 and fp32 are one.
    """
    kind = "cuda" if device == "cuda" or (device == "auto" and gpu_visible()) else "cpu"
    effective = "fp32" if kind == "cpu" and precision == "tf32" else precision
    return {"device": kind, "torch": torch_version()}, effective


# -- provenance -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def git_commit() -> str | None:
    """The commit of the checkout the package runs from (with "+dirty" if edited), or None."""
    try:
        run = functools.partial(subprocess.run, cwd=PACKAGE_DIR, capture_output=True, text=True, timeout=10)
        head = run(["git", "rev-parse", "HEAD"])
        if head.returncode:
            return None
        dirty = run(["git", "status", "--porcelain", "--", "."]).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(device: str, config_hash: str | None) -> dict:
    """Who computed a result: package version and commit, torch, numpy, device, config hash."""
    from . import __version__

    versions = {}
    for name in ("torch", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"scalinglaws": __version__, "commit": git_commit(), **versions, "device": device, "config": config_hash}
