"""Model-family registry: a config's `models` key names families; `type` defaults to that key.

The registry itself imports no torch (building a study's DAG must stay fast); a family's
module is imported only when an ensemble is built.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from ..errors import UserError


@dataclass(frozen=True)
class Family:
    module: str  # module under scalinglaws.models; its source enters every run's identity
    cls: str
    defaults: dict = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"models/{self.module}.py"


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


def family(name: str, options: dict) -> Family:
    kind = options.get("type", name)
    if kind not in FAMILIES:
        raise ModelError(f"models.{name}.type: unknown model family '{kind}' (known: {', '.join(sorted(FAMILIES))})")
    fam = FAMILIES[kind]
    for key in options:
        if key not in ("type", "sizes") and key not in fam.defaults:
            known = ", ".join(["sizes", *fam.defaults])
            raise ModelError(f"models.{name}.{key}: not an option of the {kind} family (known: {known})")
    return fam


def build_ensemble(kind: str, seeds: list[int], size: int, input_shape, num_outputs: int, options: dict):
    """Instantiate family `kind` for these member seeds, with its defaults under `options`."""
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
