"""Reading a study config file: a missing file or a YAML error is one line naming the file and,
for YAML, the line and column (PyYAML's own message spans several lines with the mark twice).
And the config schema, which states every key's default once: the code reads them from it.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

from .errors import ConfigError

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


@functools.lru_cache(maxsize=None)
def schema() -> dict:
    """The config schema: every key, its checks and its default (read once; do not modify it)."""
    return yaml.load(SCHEMA_PATH.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def schema_default(*keys: str):
    """The default of a config key, e.g. schema_default("fit", "size_tolerance"): stated in the
    schema only, and read from there by the code and the command's options."""
    node = schema()
    for key in keys:
        node = node["properties"][key]
    return copy.deepcopy(node["default"])


def yaml_error(path, exc: yaml.YAMLError) -> str:
    """`exc` in one line: `path: line L, column C: YAML error: problem (context from line K)`."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and cmark is not None and (mark is None or cmark.line != mark.line):
        context = f"{context} started on line {cmark.line + 1}"
    return f"{path}: {where}YAML error: {problem}" + (f" ({context})" if context else "")


def load_config_file(path: str | Path) -> dict:
    """The config in `path` as a dict ({} for an empty file), or a ConfigError of one line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_error(path, exc)) from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ConfigError(
            f"{path}: a config is a mapping of keys (study:, datasets:, ...), not a {type(config).__name__}"
        )
    return config
