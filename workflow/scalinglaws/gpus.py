"""Spread concurrent training jobs over the GPUs of one host: a lock-file slot allocator.

Snakemake runs local jobs side by side (as many as `--resources gpu=N` allows) but does not say
which GPU each should use, so without help every job would land on GPU 0. A training job takes
the lowest free slot: slot i is GPU i % n_gpus, so N concurrent jobs spread round-robin over the
visible GPUs. A slot is an exclusive flock on a file in a host-local folder, which the kernel
releases when the process ends, however it ends (no stale locks after SIGKILL).
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
    """The lowest free slot and its GPU; held until release() or the end of the process."""

    def __init__(self, n_gpus: int, folder: Path | str | None = None):
        import fcntl

        if n_gpus < 1:
            raise ValueError(f"GPU slots need at least one GPU, got {n_gpus}")
        folder = Path(folder) if folder else slot_folder()
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(MAX_SLOTS):
            fh = open(folder / f"slot{i}.lock", "a")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                continue
            self.slot, self.gpu, self._fh = i, i % n_gpus, fh
            return
        raise RuntimeError(f"all {MAX_SLOTS} GPU slots in {folder} are taken")

    def release(self) -> None:
        self._fh.close()  # closing the file drops the lock
