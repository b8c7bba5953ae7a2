"""Model-family registry: a config's `models` key names families; `type` defaults to that key."""
from __future__ import annotations

from .base import Ensemble
from .mlp import MLPEnsemble

REGISTRY: dict[str, type[Ensemble]] = {"mlp": MLPEnsemble}
MODULES = {"mlp": "models/mlp.py"}  # source files that define each family, for identities


class ModelError(ValueError):
    """Bad model configuration; the message names the key."""


def family_class(name: str, options: dict) -> type[Ensemble]:
    kind = options.get("type", name)
    if kind not in REGISTRY:
        raise ModelError(f"models.{name}.type: unknown model family '{kind}' (known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[kind]


def build_ensemble(kind: str, seeds: list[int], size: int, input_shape, num_outputs: int, options: dict) -> Ensemble:
    """Instantiate `kind` with its options (minus the study-level keys)."""
    cls = REGISTRY[kind]
    kwargs = {**getattr(cls, "defaults", {}), **{k: v for k, v in options.items() if k not in ("type", "sizes")}}
    return cls(seeds, size, tuple(input_shape), num_outputs, **kwargs)
