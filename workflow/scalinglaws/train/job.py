"""One training or pruning job as the workflow runs it: stored inputs in, one record out.

Reads the shard and eval splits from the store (a damaged file is never used),
takes a GPU slot on CUDA, trains, and writes the record atomically, so that no partial file is
ever taken for a finished job.
"""

from __future__ import annotations

import os
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import identity, store
from ..datasets import Split, Splits
from ..errors import UserError
from .gpus import GpuSlot
from .imp import iterative_magnitude_pruning
from .schedule import Schedule
from .spec import EnsembleJob, TrainOptions
from .tuning import train_with_lr_search


@dataclass(frozen=True)
class JobSettings:
    """Where and how a job runs, from its command line: nothing here changes its numbers."""

    device: str  # auto (CUDA when present), cpu or cuda
    threads: int  # CPU threads
    checkpoint_every: float = TrainOptions.checkpoint_every_s  # seconds between checkpoints
    config_hash: str | None = None  # the study config's hash, for the record's provenance
    started: float | None = None  # when the command started (time.time()), for the record's timing


def load_splits(shard: str, evals: str) -> Splits:
    """(train, val, test) from a stored shard and eval file; a damaged file is never used.

    It is left in place: the next run's integrity check (integrity.py) rebuilds it before any
    job starts, so that the jobs that read it intact before are not retrained."""
    arrays = {}
    for path in (shard, evals):
        try:  # reading every array checks its CRC-32: a damaged shard is never used
            with np.load(path) as f:
                arrays.update({k: f[k] for k in f.files})
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise store.CorruptRecord(f"{path} is corrupted ({exc}); run snakemake again to rebuild it") from None
    return Splits(
        Split(arrays["x"], arrays["y"]),
        Split(arrays["val_x"], arrays["val_y"]),
        Split(arrays["test_x"], arrays["test_y"]),
    )


def run_train_job(spec: dict, shard: str, evals: str, out: str, settings: JobSettings) -> None:
    """Train one ensemble job unless its record is already there, under the job's lock: another
    invocation on the same store may have written it since this one planned the job (the rule's
    output is update(), so Snakemake does not delete it first), or be writing it now (then this
    waits for it). Either way a job is trained once (store.job_lock's journal says so)."""
    with store.job_lock(out) as note:
        try:
            store.read_record(out)
            print(f"scalinglaws: {out} was written by another invocation meanwhile; not trained again", file=sys.stderr)
            note("found")
            return
        except (OSError, store.CorruptRecord):
            pass
        _train_job(spec, shard, evals, out, settings)
        note("computed")


def _train_job(spec: dict, shard: str, evals: str, out: str, settings: JobSettings) -> None:
    """Train one ensemble job and write its record at `out`.

    `settings` say how to run it (device, threads, checkpoint_every). On CUDA the job takes a
    GPU slot first (gpus.py), so concurrent jobs spread over all GPUs. The record also says
    where the job's time went (`timing`), for benchmarks/bench_study.py.
    """
    started = time.time()
    command_started = started if settings.started is None else settings.started
    torch.set_num_threads(settings.threads)
    job = ensemble_job(spec)
    device, slot = planned_device(spec, settings.device), None
    if device == "cuda":
        cost = job.train.steps_for(spec["n"]) * spec["size"] ** 2  # a rough measure of the job's work
        slot = GpuSlot(torch.cuda.device_count(), cost=cost)
        device = f"cuda:{slot.gpu}"
        torch.cuda.set_device(slot.gpu)
        torch.cuda.init()
    cuda_ready = time.time()
    data = load_splits(shard, evals)
    loaded = time.time()
    options = TrainOptions(
        timing={}, checkpoint=Path(out).with_name("checkpoint.pt"), checkpoint_every_s=settings.checkpoint_every
    )
    runs = train_with_lr_search(job, data, device, options)
    now = time.time()
    process_start = now - _seconds_since_process_start()
    timing = {
        "process_start": process_start,
        "python_start_s": command_started - process_start,  # interpreter start-up and `import scalinglaws`
        "import_s": started - command_started,
        "cuda_init_s": cuda_ready - started,
        "load_s": loaded - cuda_ready,
        "train_ensemble": options.timing,
        "end": now,
        "gpu": slot.gpu if slot else None,
    }
    record = {
        "key": store.digest(spec),
        "spec": spec,
        "runs": runs,
        "timing": timing,
        "provenance": identity.provenance(device, settings.config_hash),
    }
    store.write_record(out, record)


def ensemble_job(spec: dict) -> EnsembleJob:
    """The job of a spec, its learning-rate schedule checked before any work: a spec written by
    hand may name one that does not exist (a config cannot: the schema lists them)."""
    job = EnsembleJob.from_spec(spec)
    try:
        Schedule(job.train.schedule, job.train.warmup, 1)  # what the trainer builds, later
    except ValueError as exc:  # schedule.py's code is every run's identity: its error stays a ValueError
        raise UserError(str(exc)) from None
    return job


def planned_device(spec: dict, requested: str) -> str:
    """The device the job's identity was planned for ("cpu" or "cuda"); refuse to run elsewhere.

    `device: auto` is resolved where the study is planned (identity.numerics): a job must not
    compute on another kind of device than its identity says, or the store would hold numbers
    under a key that does not describe them.
    """
    planned = spec.get("numerics", {}).get("device")
    if planned is None:  # a spec made by hand (no identity): the command line decides
        return "cuda" if requested in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
    if planned == "cuda" and not torch.cuda.is_available():
        raise UserError(
            "this job's identity was planned for device 'cuda' (config device: cuda, or auto on a machine "
            "with a GPU) but no CUDA device is available here; set device: cpu, or run it where a GPU is"
        )
    return planned


def run_prune_job(spec: dict, shard: str, evals: str, out: str, settings: JobSettings) -> None:
    """Prune one point (every seed x lr) by IMP with rewinding; write its record at `out`."""
    torch.set_num_threads(settings.threads)
    device = planned_device(spec, settings.device)
    runs = iterative_magnitude_pruning(ensemble_job(spec), load_splits(shard, evals), spec["prune"], device=device)
    store.write_record(
        out,
        {
            "key": store.digest(spec),
            "spec": spec,
            "runs": runs,
            "provenance": identity.provenance(device, settings.config_hash),
        },
    )


def _seconds_since_process_start() -> float:
    """Age of this process (Linux: from /proc, 10 ms resolution); 0 where that is unknown."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        return time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
