"""Model-family registry: a config's `models` key names families; `type` defaults to that key.

`type` may also name a user's own model, "my_model.py:build" or "package.module:build" (user.py).
The registry itself imports no torch (building a study's DAG must stay fast); a family's
module is imported only when an ensemble is built, or when a user's model is checked.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import UserError
from ..userfile import is_user_code, load_attr


@dataclass(frozen=True)
class Family:
    module: str  # module under scalinglaws.models; its source enters every run's identity
    cls: str
    defaults: dict = field(default_factory=dict)

    @property
    def sources(self) -> tuple[str, ...]:
        """The code of its runs' identity."""
        return (f"models/{self.module}.py",)


@dataclass(frozen=True)
class UserFamily:
    """A user's `build` function; every config key but `type` and `sizes` is one of its options."""

    spec: str  # "my_model.py:build"
    path: Path  # its source file: the identity of every run of it
    build: Callable
    defaults: dict = field(default_factory=dict)

    @property
    def sources(self) -> tuple[str, ...]:
        return ("models/user.py", str(self.path))

    def check(self, field: str, sizes: list[int], data, options: dict) -> None:
        """Build and run the module at every size on a dataset's shapes (user.check_build);
        ModelError names the problem."""
        from .user import check_build

        check_build(self.build, self.spec, field, sizes, data, options, ModelError)


FAMILIES: dict[str, Family] = {
    "mlp": Family("mlp", "MLPEnsemble", {"depth": 2}),
    "cnn": Family("cnn", "CNNEnsemble", {"depth": 2}),
    "transformer": Family("transformer", "TransformerEnsemble", {"depth": None, "aspect": 32, "head_dim": 16}),
    "kan": Family(
        "kan", "KANEnsemble", {"depth": 1, "grid": 5, "grid_range": [-1.0, 1.0], "size_is": "width", "width": 5}
    ),
    "linear": Family("linear", "LinearEnsemble"),
}


class ModelError(UserError):
    """Bad model configuration; the message names the key."""


def family(name: str, options: dict) -> Family | UserFamily:
    kind = options.get("type", name)
    if is_user_code(kind):
        build, path = load_attr(kind, f"models.{name}.type", ModelError)
        if not callable(build):
            raise ModelError(f"models.{name}.type: {kind} is not a function build(size, input_shape, num_outputs)")
        return UserFamily(kind, path, build)
    if kind not in FAMILIES:
        raise ModelError(f"models.{name}.type: unknown model family '{kind}' (known: {', '.join(sorted(FAMILIES))})")
    fam = FAMILIES[kind]
    for key in options:
        if key not in ("type", "sizes") and key not in fam.defaults:
            known = ", ".join(["sizes", *fam.defaults])
            raise ModelError(f"models.{name}.{key}: not an option of the {kind} family (known: {known})")
    return fam


def build_ensemble(
    kind: str, seeds: list[int], size: int, input_shape, num_outputs: int, options: dict, task: str | None = None
):
    """Instantiate family `kind` for these member seeds, with its defaults under `options`;
    `task` ("lm", ...) tells a user's module what its outputs are (user.py)."""
    if is_user_code(kind):
        from .user import ModuleEnsemble

        build, _ = load_attr(kind, "models.type", ModelError)
        kwargs = {k: v for k, v in options.items() if k not in ("type", "sizes")}
        return ModuleEnsemble(seeds, build, size, tuple(input_shape), num_outputs, kwargs, task)
    fam = FAMILIES[kind]
    cls = getattr(importlib.import_module(f".{fam.module}", __name__), fam.cls)
    kwargs = {**fam.defaults, **{k: v for k, v in options.items() if k not in ("type", "sizes")}}
    try:
        return cls(seeds, size, tuple(input_shape), num_outputs, **kwargs)
    except ValueError as exc:
        # A family refusing its options or its data's shape (cnn.py, transformer.py, kan.py say
        # which key): the config's mistake, one line. The families raise ValueError, not
        # ModelError, because their code is in the identity of every run of theirs.
        raise ModelError(str(exc)) from None
