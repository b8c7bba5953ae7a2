"""`scalinglaws train` and `scalinglaws prune`, the train and prune rules' commands: one stored
job each (train/job.py). torch is imported only when one runs."""

from __future__ import annotations

import argparse
import json
import time

from ..configfile import schema_default
from .spec import TrainOptions


def add_parser(sub) -> None:
    """Register `train` and `prune` on the CLI's subparsers."""
    s = _job_parser(sub, "train", "train one ensemble job", "JSON job spec (see study.py)")
    s.add_argument(
        "--checkpoint-every",
        type=float,
        default=TrainOptions.checkpoint_every_s,
        help="seconds between checkpoints (one is also written on SIGTERM)",
    )
    s.set_defaults(func=cmd_train)

    s = _job_parser(
        sub,
        "prune",
        "prune one trained point by IMP with rewinding (all seeds x lrs)",
        "JSON pruning job spec (see Study.pruning_jobs)",
    )
    s.set_defaults(func=cmd_prune)


def _job_parser(sub, name: str, help: str, spec_help: str) -> argparse.ArgumentParser:
    """A subcommand that runs one stored job: its spec, inputs, output and where it runs."""
    s = sub.add_parser(name, help=help)
    s.add_argument("--spec", required=True, help=spec_help)
    s.add_argument("--shard", required=True, help="the stored shard (data.npz)")
    s.add_argument("--eval", required=True, help="the stored validation and test splits (data.npz)")
    s.add_argument("--out", required=True, help="the job's record (metrics.json), written atomically")
    s.add_argument("--device", default=schema_default("device"), help="auto (CUDA when present), cpu or cuda")
    s.add_argument("--threads", type=int, default=schema_default("threads"), help="CPU threads")
    s.add_argument("--config-hash", help="the study config's hash, for the record's provenance")
    return s


def cmd_train(args) -> None:
    """Train one ensemble job and write its record (train/job.py)."""
    started = time.time()
    from ..train.job import run_train_job

    run_train_job(
        json.loads(args.spec),
        args.shard,
        args.eval,
        args.out,
        job_settings(args, checkpoint_every=args.checkpoint_every, started=started),
    )


def cmd_prune(args) -> None:
    """Prune one trained point (every seed x lr) by IMP with rewinding (train/imp.py)."""
    from ..train.job import run_prune_job

    run_prune_job(json.loads(args.spec), args.shard, args.eval, args.out, job_settings(args))


def job_settings(args, **more):
    """Where and how the job runs, from its command line (train/job.py's JobSettings)."""
    from ..train.job import JobSettings

    return JobSettings(device=args.device, threads=args.threads, config_hash=args.config_hash, **more)
