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


def closure(*roots: str) -> list[str]:
    """The package modules whose code `roots` run, directly or not (relative imports only).

    A root is a module ("aggregate/command.py") or one command of it ("fit/command.py:cmd_fit"):
    a stage's root is the command its rule runs. Code is followed by name, into function-level
    imports too: a module counts when the code followed uses one of its names (a function, a
    class, a constant, or the module itself); then what defines that name counts with what it
    uses in turn, and so does what runs when the module is imported (its other statements,
    decorated definitions, the submodules it imports). So `fit-study`, which writes the law
    table, counts report/tables.py but not the figures that module imports for `fit`'s
    figures: a figure's label reruns the figures, not the fit.
    """
    used: dict[str, set] = {}  # module -> the names followed in it (ALL: every one)
    todo = [(root.split(":")[0], root.split(":")[1] if ":" in root else ALL) for root in roots]
    while todo:
        module, name = todo.pop()
        if module not in used:
            used[module] = set()
            todo += _uses(module, IMPORTED)
        if ALL in used[module] or name in used[module]:
            continue
        used[module].add(name)
        todo += _uses(module, name)
    return sorted(used)


ALL, IMPORTED = "*", ""  # closure's names for a whole module and for what runs when it is imported


def _uses(module: str, name: str) -> list[tuple[str, str]]:
    """The (module, name) pairs that the definition of `name` in `module` uses."""
    defines = _definitions(module)
    if name == ALL:
        todo = [node for nodes in defines.values() for node in nodes]
    elif name in defines:
        todo = list(defines[name])
    else:  # bound in a way not followed here (e.g. a lazy export): all of the module counts
        return [(module, ALL)]
    out, seen = [], set()
    while todo:
        node = todo.pop()
        if isinstance(node, tuple):  # an import's target
            out.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and child.id in defines:
                todo += defines[child.id]
            elif isinstance(child, ast.ImportFrom) and child.level:  # a function-level import
                out += [t for t in (_import_target(module, child, a.name) for a in child.names) if t]
    return out


@functools.lru_cache(maxsize=None)
def _definitions(module: str) -> dict[str, list]:
    """A module's top-level statements by the name they bind (a statement, or an import's target
    (module, name)); IMPORTED: those that run when it is imported whatever is used of it."""
    defines: dict[str, list] = {IMPORTED: []}
    for node in ast.parse((PACKAGE_DIR / module).read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defines.setdefault(node.name, []).append(node)
            if node.decorator_list:  # a decorator may register what it decorates
                defines[IMPORTED].append(node)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                target = _import_target(module, node, alias.name) if node.level else None
                if target:
                    defines.setdefault(alias.asname or alias.name, []).append(target)
                    if target[1] == ALL:  # a submodule, imported for what it does too
                        defines[IMPORTED].append(target)
        elif not isinstance(node, ast.Import):  # constants and other statements run on import
            defines[IMPORTED].append(node)
            for target in getattr(node, "targets", [getattr(node, "target", None)]):
                for bound in ast.walk(target) if target else ():
                    if isinstance(bound, ast.Name):
                        defines.setdefault(bound.id, []).append(node)
    return defines


def _import_target(module: str, node: ast.ImportFrom, name: str) -> tuple[str, str | None] | None:
    """What `from .x import name` in `module` refers to: (the module, name), or (a submodule,
    ALL); None outside the package."""
    base = Path(module).parent
    for _ in range(node.level - 1):
        base = base.parent
    if node.module:
        sub = _module_file(base, f"{node.module}.{name}")
        if sub:
            return sub, ALL
        target = _module_file(base, node.module)
        return (target, name) if target else None
    sub = _module_file(base, name)
    return (sub, ALL) if sub else None


def _module_file(base: Path, dotted: str) -> str | None:
    stem = base.joinpath(*dotted.split("."))
    for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
        if (PACKAGE_DIR / candidate).is_file():
            return str(candidate)
    return None


def stage_code(*roots: str) -> str:
    """Code identity of an analysis stage: the command its rule runs ("fit/command.py:cmd_fit")
    and every module whose code that command uses (closure)."""
    return code_version(*closure(*roots))


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
