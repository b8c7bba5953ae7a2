"""`scalinglaws aggregate`, the aggregate rule's command: the study's tables from its jobs' records."""

from __future__ import annotations

import json
from pathlib import Path

from .. import store
from ..configfile import schema_default

SIZE_TOLERANCE = "a shard's best size: the smallest within this fraction of the best (default %(default)s)"


def add_parser(sub) -> None:
    """Register `aggregate` on the CLI's subparsers."""
    s = sub.add_parser("aggregate", help="runs.csv, learning_curve.csv, sizes.csv from metrics files")
    s.add_argument("--out-dir", required=True, help="folder for the three tables")
    s.add_argument("--size-tolerance", type=float, default=schema_default("fit", "size_tolerance"), help=SIZE_TOLERANCE)
    s.add_argument("--labels", required=True, help="JSON file: job key -> [[dataset, family], ...]")
    s.add_argument("metrics", nargs="+", help="the ensemble jobs' records (metrics.json)")
    s.set_defaults(func=cmd_aggregate)


def cmd_aggregate(args) -> None:
    from ..aggregate.curves import learning_curve, size_table
    from ..aggregate.runs import load_runs

    runs = load_runs(args.metrics, json.loads(Path(args.labels).read_text()))
    out = Path(args.out_dir)
    store.write_result(out / "runs.csv", runs.to_csv(index=False))
    curve = learning_curve(runs, args.size_tolerance)
    store.write_result(out / "learning_curve.csv", curve.to_csv(index=False))
    store.write_result(out / "sizes.csv", size_table(runs).to_csv(index=False))
