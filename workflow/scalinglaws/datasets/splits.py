"""The three splits one job trains and is scored on (kept out of base.py, whose source is part
of every shard's identity)."""

from __future__ import annotations

from typing import NamedTuple

from .base import Split


class Splits(NamedTuple):
    train: Split
    val: Split
    test: Split
