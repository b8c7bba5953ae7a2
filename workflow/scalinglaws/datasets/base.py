"""What every dataset provides: a pool in a fixed order, fixed validation and test sets.

Shard n is the first n examples of the pool. Shards are nested, and a shard's identity depends
only on its content, so growing the pool never changes an existing shard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError


class DataError(UserError):
    """Bad dataset configuration or missing data; the message names the field or file."""


@dataclass
class Split:
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


class Dataset:
    """Base class. Subclasses set `task`, `input_shape`, `num_outputs` and implement the rest."""

    task: str = "regression"  # or "classification", or "lm" (next-token prediction at every position)
    metric: str = "mse"  # the learning curve's error: "mse", "rmse", "error" (1 - accuracy) or "bpb" (bits per byte)
    input_shape: tuple[int, ...] = ()
    num_outputs: int = 1

    def __init__(self, name: str, options: dict, seed: int):
        self.name = name
        self.options = dict(options)
        self.seed = int(seed)

    # -- identities -------------------------------------------------------------------------
    def content_options(self) -> dict:
        """The options that determine the examples (not, say, how large the pool may grow)."""
        return self.options

    def identity(self) -> dict:
        """Everything that determines the data, except the shard size. Subclasses extend it."""
        return {"type": type(self).__name__, "options": self.content_options(), "seed": self.seed}

    def shard_identity(self, n: int) -> dict:
        return {"dataset": self.identity(), "n": int(n)}

    def eval_identity(self) -> dict:
        return {"dataset": self.identity(), "eval": True}

    def rebuild_options(self, n: int | None) -> dict:
        """Options that rebuild shard n (or, for None, the eval splits) and nothing more.

        They become the data job's params, which Snakemake compares between runs: anything
        here that can change while the content stays the same (a growing pool's size, say)
        would rerun a job whose output, named by its content, is already right.
        """
        return self.options

    # -- data -------------------------------------------------------------------------------
    @property
    def pool_size(self) -> int:
        raise NotImplementedError

    def shard(self, n: int) -> Split:
        """The first n examples of the pool."""
        raise NotImplementedError

    def eval_splits(self) -> dict[str, Split]:
        """{"val": Split, "test": Split}: fixed, independent of the pool and its growth."""
        raise NotImplementedError

    def check_shard(self, n: int, field: str = "shards") -> None:
        if n > self.pool_size:
            raise DataError(
                f"{field}: shard size {n} is larger than dataset '{self.name}' pool of {self.pool_size} examples"
            )
