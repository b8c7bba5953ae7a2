"""`scalinglaws plot`, the figures rule's command: the figures and each curve's summary page."""

from __future__ import annotations

import json
from pathlib import Path

from ..configfile import schema_default


def add_parser(sub) -> None:
    """Register `plot` on the CLI's subparsers."""
    s = sub.add_parser("plot", help="figures from the tables and the fit JSON")
    s.add_argument("--tables", required=True, help="the folder of learning_curve.csv and sizes.csv")
    s.add_argument("--fits", required=True, help="the study's fits.json")
    s.add_argument("--out-dir", required=True, help="folder for the figures (PNG and PDF)")
    s.add_argument(
        "--extrapolate",
        type=float,
        default=float(schema_default("fit", "extrapolate")),
        help="draw the fits out to this many times the largest n",
    )
    s.add_argument("--summary-dir", help="also write each curve's summary page (the report's first page) here")
    s.add_argument(
        "--configfile",
        action="append",
        metavar="FILE",
        help="the study's config (repeatable, merged "
        "in order): the summary pages then propose the next shards and sizes (scalinglaws plan --next)",
    )
    s.set_defaults(func=cmd_plot)


def cmd_plot(args) -> None:
    import pandas as pd

    from ..report.figures import draw_all

    tables = Path(args.tables)
    fits = json.loads(Path(args.fits).read_text())
    curve = pd.read_csv(tables / "learning_curve.csv")
    draw_all(curve, pd.read_csv(tables / "sizes.csv"), fits, args.out_dir, args.extrapolate)
    if args.summary_dir:
        from ..report.summary import write_summaries

        write_summaries(fits, curve, args.out_dir, args.summary_dir, args.extrapolate, _proposer(args, fits, tables))


def _proposer(args, fits: dict, tables: Path):
    """The report's next-step proposal per curve, when the study's config is given: with the
    commands that write it as an overlay and run it (with the config files of this run)."""
    if not args.configfile:
        return None
    from ..plan.command import find_study
    from ..plan.cost import read_runs
    from ..plan.overlay import proposal_for

    (study, record), runs = find_study(args.configfile, None), read_runs(tables.parent)

    def propose(group: str) -> dict:
        proposal = proposal_for(fits, group, study, runs, args.extrapolate, Path.cwd())
        how = f"scalinglaws plan {tables.parent} --data-factor {args.extrapolate:g} --next --out overlay.yaml"
        return {**proposal, "plan": how, "command": record.command("overlay.yaml")}

    return propose
