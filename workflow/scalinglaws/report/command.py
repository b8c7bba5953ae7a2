"""`scalinglaws plot`, the figures rule's command: the figures and each curve's summary page."""

from __future__ import annotations

import json
from pathlib import Path

from ..configfile import schema_default
from ..errors import UserError


def add_parser(sub) -> None:
    """Register `plot` on the CLI's subparsers."""
    s = sub.add_parser(
        "plot",
        help="figures from the tables and the fit JSON (a study's), or from a `scalinglaws fit` output alone",
    )
    s.add_argument(
        "--tables",
        help="the study's folder of learning_curve.csv and sizes.csv; without it, --fits is a "
        "`scalinglaws fit` output whose law figures are redrawn",
    )
    s.add_argument(
        "--fits",
        required=True,
        help="the study's fits.json; or, without --tables, a `scalinglaws fit` output folder or its fits.json",
    )
    s.add_argument(
        "--out-dir",
        help="folder for the figures (PNG and PDF); needed with --tables, else the figures/ folder beside the fits",
    )
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

    if args.tables is None:
        return redraw_fit(args)
    if args.out_dir is None:
        raise UserError("plot --tables: give --out-dir, the folder for the study's figures")
    tables = Path(args.tables)
    fits = json.loads(Path(args.fits).read_text())
    curve = pd.read_csv(tables / "learning_curve.csv")
    draw_all(curve, pd.read_csv(tables / "sizes.csv"), fits, args.out_dir, args.extrapolate)
    if args.summary_dir:
        from ..report.summary import write_summaries

        write_summaries(fits, curve, args.out_dir, args.summary_dir, args.extrapolate, _proposer(args, fits, tables))


def redraw_fit(args) -> None:
    """Redraw a `scalinglaws fit` output's figures from its fits.json alone (no refit): after a
    change to the figures, or out to another --extrapolate."""
    from ..fit.curves import load_fits, read_fits
    from ..report.tables import write_figures

    source, fits = load_fits(args.fits)
    curves = read_fits(fits)
    first = next(iter(curves.values()), None)
    if first is None or "table" not in first.info:
        raise UserError(f"{source}: not the output of `scalinglaws fit` (a study's figures need --tables)")
    out_dir = Path(args.out_dir) if args.out_dir else source.parent / "figures"
    written = write_figures(fits, out_dir, Path(first.info["table"]).stem, extrapolate=args.extrapolate)
    print(f"wrote {len(written)} figure files in {out_dir}/")


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
