"""The shard schedule: which prefix sizes n of a dataset's pool are trained on.

Shards are nested prefixes of the pool's fixed order (datasets/base.py), geometric by default
(Hestness et al. grow them 2x apart) or an explicit list.
"""

from __future__ import annotations

from ..errors import ConfigError


def shard_sizes(spec: dict, field: str) -> list[int]:
    """Explicit sizes, or min * factor^k up to max (max itself always included)."""
    if "sizes" in spec:
        sizes = [int(s) for s in spec["sizes"]]
    else:
        lo, hi, factor = int(spec["min"]), int(spec["max"]), float(spec.get("factor", 2))
        if hi < lo:
            raise ConfigError(f"{field}: max ({hi}) is smaller than min ({lo})")
        sizes, s = [], float(lo)
        while round(s) < hi:
            sizes.append(int(round(s)))
            s *= factor
        sizes.append(hi)
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ConfigError(f"{field}: shard sizes must be strictly increasing, got {sizes}")
    return sizes
