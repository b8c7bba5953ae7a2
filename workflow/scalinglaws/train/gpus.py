"""Spread concurrent training jobs over the GPUs of one host: a lock-file slot allocator.

Snakemake runs local jobs side by side (as many as `--resources gpu=N` allows) but does not say
which GPU each should use, so without help every job would land on GPU 0. A training job takes
a slot on the GPU whose running jobs have the least work left to them (the sum of their cost
hints), so that the long jobs of a study do not pile up on one GPU. A slot is an exclusive flock
on a small file in a host-local folder, holding "<gpu> <cost>"; the kernel releases the lock when
the process ends, however it ends (no stale slots after SIGKILL). Choosing happens under one
more lock, so two jobs starting at once see each other.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

MAX_SLOTS = 1024


def slot_folder() -> Path:
    """Host-local and per user; one set of slots per CUDA_VISIBLE_DEVICES value."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "all")
    tag = hashlib.sha256(visible.encode()).hexdigest()[:8]
    default = Path(tempfile.gettempdir()) / f"scalinglaws-gpu-slots-{os.getuid()}-{tag}"
    return Path(os.environ.get("SCALINGLAWS_GPU_SLOTS") or default)


class GpuSlot:
    """A slot on the least-loaded GPU; held until release() or the end of the process.

    `cost` is this job's expected work in any unit shared by the jobs (the train command uses
    steps x width^2); with equal costs the jobs are spread evenly by count.
    """

    def __init__(self, n_gpus: int, folder: Path | str | None = None, cost: float = 1.0):
        import fcntl

        if n_gpus < 1:
            raise ValueError(f"GPU slots need at least one GPU, got {n_gpus}")
        folder = Path(folder) if folder else slot_folder()
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "choose.lock", "a") as choosing:
            fcntl.flock(choosing, fcntl.LOCK_EX)  # released when the file closes
            load, free = [0.0] * n_gpus, None
            for i in range(MAX_SLOTS):
                path = folder / f"slot{i}.lock"
                if not path.exists():
                    free = i if free is None else free
                    break
                fh = open(path, "r+")
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:  # held by a running job: count its work
                    gpu, job_cost = (fh.read().split() + ["0", "1"])[:2]
                    load[int(gpu) % n_gpus] += float(job_cost)
                    fh.close()
                    continue
                fcntl.flock(fh, fcntl.LOCK_UN)
                fh.close()
                free = i if free is None else free
            if free is None:
                raise RuntimeError(f"all {MAX_SLOTS} GPU slots in {folder} are taken")
            self.gpu = min(range(n_gpus), key=lambda g: (load[g], g))
            self.slot = free
            self._fh = open(folder / f"slot{free}.lock", "a+")
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._fh.truncate(0)
            self._fh.write(f"{self.gpu} {float(cost)}\n")
            self._fh.flush()

    def release(self) -> None:
        self._fh.close()  # closing the file drops the lock
