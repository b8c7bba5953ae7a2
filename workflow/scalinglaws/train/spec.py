"""What an ensemble job trains and how: plain data, no torch, so that building a study's DAG
stays fast. Every field of TrainSpec and EnsembleJob enters the job's identity; TrainOptions
(hooks, checkpoints, timing) does not change any number and so is not part of it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable


@dataclass
class TrainSpec:
    """How one ensemble job trains. Every field enters the job's identity."""

    seeds: list[int]
    learning_rates: list[float]
    batch_size: int = 256
    epochs: float = 100.0  # step budget = epochs * n / batch, clipped to [min_steps, max_steps]
    min_steps: int = 200
    max_steps: int = 5000
    eval_every: int = 50
    patience: int = 10  # evaluations without improvement before a member stops
    weight_decay: float = 0.0
    eval_batch: int = 8192
    train_eval_size: int = 8192  # examples of the shard used to report the training loss
    precision: str = "tf32"  # CUDA matmuls: fp32, tf32 (tensor cores, fp32 storage) or bf16 (autocast)
    schedule: str = "constant"  # learning-rate schedule: constant, cosine or linear (schedule.py)
    warmup: float = 0.0  # linear warm-up over this fraction of the step budget
    ceiling_epochs: float | None = None  # a member still improving at the end of its budget trains on, up to this
    lr_factor: float = 3.0  # a best learning rate on the grid's edge adds the next one this factor beyond it ...
    lr_bounds: list[float] | None = None  # ... while it stays inside these bounds (None: the grid only)
    cooldown: float | None = None  # after the loop, decay to 0 over this fraction of each member's best step
    patience_epochs: float | None = None  # patience is at least this many epochs of the shard (patience_for)

    def identity(self) -> dict:
        """The fields as they enter a job's identity: an unset cooldown or patience_epochs (None
        or 0, off) is left out, so that the jobs of a study without one keep the spec they had
        before it existed."""
        fields = asdict(self)
        for key in ("cooldown", "patience_epochs"):
            if not fields[key]:
                del fields[key]
        return fields

    def patience_for(self, n: int) -> int:
        """Evaluations without improvement before a member stops on shard n: `patience`, and at
        least `patience_epochs` epochs. A fixed count of evaluations is ever fewer epochs as the
        shard grows (8 x 50 steps: 6 epochs of 16,384 examples, 1.6 of 65,536), and at the large
        shards it stopped members on a plateau they later left (benchmarks/RESULTS.md, issue 27)."""
        if not self.patience_epochs:
            return self.patience
        steps = self.patience_epochs * n / min(self.batch_size, n)
        return max(self.patience, math.ceil(steps / self.eval_every - 1e-9))

    def steps_for(self, n: int) -> int:
        steps = math.ceil(self.epochs * n / min(self.batch_size, n))
        return int(min(max(steps, self.min_steps), self.max_steps))

    def ceiling_for(self, n: int) -> int:
        """The most steps a member may train on shard n: `ceiling_epochs` epochs, and at least the budget."""
        if self.ceiling_epochs is None:
            return self.steps_for(n)
        return max(self.steps_for(n), math.ceil(self.ceiling_epochs * n / min(self.batch_size, n)))


@dataclass
class EnsembleJob:
    """One ensemble job: a model family at one size, on one task, trained by `train`."""

    family: str  # the family's type (models.FAMILIES), not the config's name for it
    size: int
    model_options: dict
    task: str
    num_outputs: int
    train: TrainSpec
    metric: str | None = None  # the reported metric (metrics.METRICS); None: the task's default

    @classmethod
    def from_spec(cls, spec: dict) -> "EnsembleJob":
        """From a study's JSON job spec (Study._expand)."""
        return cls(
            spec["family_type"],
            spec["size"],
            spec["model_options"],
            spec["task"],
            spec["num_outputs"],
            TrainSpec(**spec["train"]),
            spec.get("metric"),
        )


@dataclass
class TrainOptions:
    """How a job runs, with no effect on its numbers.

    `fast` picks the step loop: the CUDA-graph fast path (default on CUDA) or the reference loop
    (default on CPU). `history` gets (step, validation loss per member) after every evaluation;
    `timing` gets the seconds spent in setup, training steps and evaluation. With `checkpoint` (a
    path) the job saves its state there on SIGTERM (then raises Preempted) and every
    `checkpoint_every_s` seconds, and resumes from it if it exists (checkpoint.py). Hooks for
    pruning (imp.py): `setup(model)` runs once the model is built, before the optimiser sees its
    parameters; `on_eval(step, model)` runs at step 0 and after every evaluation chunk.
    """

    fast: bool | None = None
    history: list | None = None
    timing: dict | None = None
    checkpoint: str | None = None
    checkpoint_every_s: float = 600.0
    setup: Callable | None = None
    on_eval: Callable | None = None
