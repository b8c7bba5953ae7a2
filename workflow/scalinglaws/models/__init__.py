"""Model-family registry: a config's `models` key names families; `type` defaults to that key."""
from __future__ import annotations

from .base import Ensemble
from .cnn import CNNEnsemble
from .kan import KANEnsemble
from .linear import LinearEnsemble
from .mlp import MLPEnsemble
from .transformer import TransformerEnsemble

REGISTRY: dict[str, type[Ensemble]] = {
    "mlp": MLPEnsemble,
    "cnn": CNNEnsemble,
    "transformer": TransformerEnsemble,
    "kan": KANEnsemble,
    "linear": LinearEnsemble,
}
# source files that define each family, for identities
MODULES = {name: (f"models/{cls.__module__.rsplit('.', 1)[-1]}.py",) for name, cls in REGISTRY.items()}


class ModelError(ValueError):
    """Bad model configuration; the message names the key."""


def family_class(name: str, options: dict) -> type[Ensemble]:
    kind = options.get("type", name)
    if kind not in REGISTRY:
        raise ModelError(f"models.{name}.type: unknown model family '{kind}' (known: {', '.join(sorted(REGISTRY))})")
    cls = REGISTRY[kind]
    for key in options:
        if key not in ("type", "sizes") and key not in cls.defaults:
            known = ", ".join(["sizes", *cls.defaults])
            raise ModelError(f"models.{name}.{key}: not an option of the {kind} family (known: {known})")
    return cls


def build_ensemble(kind: str, seeds: list[int], size: int, input_shape, num_outputs: int, options: dict) -> Ensemble:
    """Instantiate `kind` with its options (minus the study-level keys)."""
    cls = REGISTRY[kind]
    kwargs = {**cls.defaults, **{k: v for k, v in options.items() if k not in ("type", "sizes")}}
    return cls(seeds, size, tuple(input_shape), num_outputs, **kwargs)
