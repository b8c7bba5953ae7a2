"""The training spec of an ensemble job: plain data, no torch, so that building a study's DAG
stays fast. Every field enters the job's identity."""
from __future__ import annotations

import math
from dataclasses import dataclass


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

    def steps_for(self, n: int) -> int:
        steps = math.ceil(self.epochs * n / min(self.batch_size, n))
        return int(min(max(steps, self.min_steps), self.max_steps))
