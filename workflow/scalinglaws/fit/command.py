"""`scalinglaws fit-study`, `fit` and `predict`, the fit and fit_table rules' commands (and
`predict`, which reads what they write): fit laws to a study's runs or to a table of measurements.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import identity, store
from ..aggregate.command import SIZE_TOLERANCE
from ..configfile import schema_default
from ..errors import UserError


def add_parser(sub) -> None:
    """Register `fit-study`, `fit` and `predict` on the CLI's subparsers."""
    s = sub.add_parser("fit-study", help="fit the laws to every learning curve of runs.csv")
    s.add_argument("--runs", required=True, help="the study's runs.csv (scalinglaws aggregate)")
    s.add_argument("--out", required=True, help="the fits to write (fits.json)")
    fit_options(s, target=True)
    s.add_argument("--size-tolerance", type=float, default=schema_default("fit", "size_tolerance"), help=SIZE_TOLERANCE)
    s.add_argument(
        "--laws",
        default=",".join(schema_default("fit", "laws")),
        help="comma-separated law names (default %(default)s)",
    )
    s.add_argument("--table", help="also write the fitted-law table (CSV) here")
    s.add_argument(
        "--evals",
        action="append",
        default=[],
        metavar="DATASET=PATH",
        help="a dataset's eval splits (data.npz): its best-guess error anchors the small-data "
        "region and is the joint law's eps0 (repeatable)",
    )
    s.add_argument("--fit-eps0", action="store_true", help="joint: fit eps0 instead of fixing it to the best guess")
    s.add_argument("--config-hash", help="the study config's hash, for the fits' provenance")
    s.set_defaults(func=cmd_fit_study)

    s = sub.add_parser(
        "fit",
        help="fit laws to a CSV table of measurements (no training)",
        add_help=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=FIT_EXIT,
    )
    s.add_argument("-h", "--help", action=HelpWithLaws, help="show this help message, with every law, and exit")
    s.add_argument("table", help="CSV file: one row per run")
    s.add_argument(
        "--law",
        default="auto",
        help="law name(s), comma-separated, or 'auto' (the default): all that "
        "take as many x columns; with several, the default prediction combines them by stacking weights from "
        "their backtests (each law's own prediction is printed beside it)",
    )
    s.add_argument("--x", required=True, help="x column(s), comma-separated (power: n; joint: m,n; chinchilla: N,D)")
    s.add_argument("--y", required=True, help="the column to fit (an error or loss)")
    s.add_argument("--group", help="fit every value of this column separately")
    s.add_argument("--holdout-col", help="rows flagged 1/true/yes here are left out of the fit and predicted")
    s.add_argument(
        "--replicate-col", help="rows with the same x that differ here are replicates (e.g. seeds), averaged"
    )
    s.add_argument("--no-figures", action="store_true", help="write fits.json and laws.csv only")
    s.add_argument(
        "--every-figure",
        action="store_true",
        help="also a figure for a law no group could fit (a note saying why; for a workflow that declares one per law)",
    )
    s.add_argument("--jobs", type=int, default=1, help="fit the groups in this many processes (default %(default)s)")
    s.add_argument(
        "--derive",
        action="append",
        default=[],
        metavar="NAME=EXPR",
        help="a computed column, e.g. 'D=`Training FLOP` / (6 * `Model Size`)' (repeatable)",
    )
    s.add_argument("--where", metavar="EXPR", help="fit only the rows where this holds, e.g. 'loss < 3.44'")
    s.add_argument("--out", help="output folder (default: TABLE_fits/ next to the table)")
    fit_options(s, target=False)
    s.add_argument(
        "--eps0",
        type=float,
        help="the random-guess error: joint's and m4's eps0 (fitted if not given) and the "
        "anchor of power's small-data region (none is detected without it)",
    )
    s.add_argument("--starts", type=int, help="chinchilla: L-BFGS from only the K best of the 4,500 grid starts")
    s.add_argument(
        "--failures",
        metavar="FILE",
        help="write the groups and laws that could not be fitted here, one "
        "a line (empty if none), and exit 0 when only they failed (for a workflow: the rest is kept)",
    )
    s.set_defaults(func=cmd_fit)

    s = sub.add_parser(
        "predict",
        help="a fitted law's error at new x, with its 95%% CI and prediction interval",
        epilog="exit status: 0 every group predicted; 2 a mistake (one line: an unknown law or group, a bad "
        "value, no fits.json); 3 some group was not predicted because its fit failed (the others are printed)",
    )
    s.add_argument("fits", help="a study's results folder, a `scalinglaws fit` output folder, or a fits.json")
    s.add_argument(
        "--at",
        required=True,
        metavar="X[,X...]",
        help="where to predict (the law's axis: n for power and joint), measured or not",
    )
    s.add_argument("--law", help="default: the law the backtest selected (else the first fitted)")
    s.add_argument("--group", help="one curve, e.g. teacher/mlp (default: every one)")
    s.add_argument("--size", metavar="M[,M...]", help="joint laws: the model size(s) (their other input)")
    s.add_argument("--format", choices=["csv", "json"], default="csv", help="output format (default %(default)s)")
    s.set_defaults(func=cmd_predict)


FIT_EXIT = """exit status:
  0  every group and law fitted
  2  a mistake in the table or an option (one line naming the file, column and row)
  3  some group or law could not be fitted: the rest are written, and fits.json says why
     (with --failures FILE: 0, and FILE lists them)"""


class HelpWithLaws(argparse.Action):
    """`fit -h`: the help with every law it can fit. The laws are imported only when the help is
    asked for: every command's start (a training job's above all) would pay for scipy."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser.epilog = f"{laws_help()}\n\n{FIT_EXIT}"
        parser.print_help()
        parser.exit()


def laws_help() -> str:
    """Every law of the registry: its name, x columns and formula, and whether auto considers it."""
    from ..fit.laws import LAWS

    lines = ["laws (--law; 'auto' fits those marked *, that take as many x columns as --x gives):"]
    for name, cls in LAWS.items():
        lines.append(f"  {name + ' *' * cls.auto:<19} x: {','.join(cls.x_names):<12} {cls().formula}")
    return "\n".join(lines)


def fit_options(s: argparse.ArgumentParser, target: bool, section: str = "fit") -> None:
    """The options every fitting subcommand shares: what to fit, and its bootstrap (their
    defaults: the config section's)."""
    if target:
        s.add_argument(
            "--target",
            choices=["val", "test"],
            default=schema_default(section, "target"),
            help="fit the test metric or the validation metric (default %(default)s)",
        )
    s.add_argument(
        "--bootstrap",
        type=int,
        default=schema_default(section, "bootstrap"),
        help="bootstrap replicates (default %(default)s)",
    )
    s.add_argument(
        "--seed",
        type=int,
        default=schema_default(section, "seed"),
        help="seed of the bootstrap's resampling (default %(default)s)",
    )


def cmd_fit_study(args) -> None:
    import pandas as pd

    from ..fit.best_guess import best_guesses
    from ..fit.study import StudyFit, fit_study
    from ..report.tables import law_table

    runs = pd.read_csv(args.runs)
    evals = dict(item.split("=", 1) for item in args.evals)
    metrics = runs.groupby("dataset")["metric"].first().to_dict() if len(runs) else {}
    spec = StudyFit(
        args.target,
        args.bootstrap,
        args.seed,
        args.size_tolerance,
        tuple(args.laws.split(",")),
        best_guesses(evals, metrics, args.target),
        args.fit_eps0,
    )
    fits = fit_study(runs, spec)
    for fit in fits.values():  # who computed it (issue 13); the runs' own provenance is in runs.csv
        fit["provenance"] = identity.provenance("cpu", args.config_hash)
    store.write_result(args.out, fits)  # with a checksum beside it (integrity.py)
    if args.table:
        store.write_result(args.table, law_table(fits).to_csv(index=False))


def cmd_fit(args) -> int:
    """Fit laws to an external CSV table and write fits.json, laws.csv and one figure per law.
    Exit status 3 when some group or law could not be fitted (the others are written), unless
    --failures names a file to record them in."""
    from ..fit.external import TableSpec, failures, fit_table
    from ..fit.laws import options_for
    from ..fit.printout import table_fit_lines
    from ..fit.progress import PROGRESS
    from ..report.tables import write_outputs

    options = options_for(eps0=args.eps0, starts=args.starts)  # each law's, from the priors its class declares
    derive = {}
    for item in args.derive:
        name, sep, expr = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--derive {item!r}: expected NAME=EXPRESSION")
        derive[name.strip()] = expr.strip()
    laws, x_cols = [v.strip() for v in args.law.split(",")], [v.strip() for v in args.x.split(",")]
    args.out = args.out or default_out(args.table)
    spec = TableSpec(
        args.table, laws, x_cols, args.y, args.group, args.holdout_col, derive, args.where, options, args.replicate_col
    )
    PROGRESS.start()  # a status line on a terminal, nothing in a log (progress.py)
    try:
        fits = fit_table(spec, args.bootstrap, args.seed, args.jobs)
    finally:
        PROGRESS.stop()
    write_outputs(fits, args.out, Path(args.table).stem, figures=not args.no_figures, every_figure=args.every_figure)
    print("\n".join(table_fit_lines(fits, args.table, args.group)))
    print(f"wrote {args.out}/fits.json, laws.csv" + ("" if args.no_figures else " and figures/"))
    failed = failures(fits)
    if args.failures:  # the record a workflow reports from; the job itself succeeds (its outputs are kept)
        store.atomic_write_text(args.failures, "".join(f"{line}\n" for line in failed))
    if failed:
        print(f"scalinglaws fit: {len(failed)} fit(s) failed:\n  " + "\n  ".join(failed), file=sys.stderr)
        return 0 if args.failures else 3
    return 0


def default_out(table: str) -> str:
    """`scalinglaws fit`'s output folder when --out is not given: TABLE_fits beside the table."""
    path = Path(table)
    return str(path.with_name(f"{path.stem}_fits"))


def cmd_predict(args) -> int:
    """The error a fitted law expects at new x, with the CI of the mean and the PI of a new run.
    Exit status 3 when some group could not be predicted because its fit failed (the others
    are printed), as `fit` does when some group could not be fitted."""
    from ..fit.predict import load_fits, not_predicted, parse_values, predict_rows

    source, fits = load_fits(args.fits)
    at, sizes = parse_values(args.at, "--at"), parse_values(args.size, "--size")
    rows = predict_rows(source, fits, at, args.law, args.group, sizes)
    missing = [] if args.group else not_predicted(source, fits, args.law, sizes)
    if args.format == "json":
        print(rows.to_json(orient="records", indent=1))
    else:
        print(rows.to_csv(index=False), end="")
    if missing:
        print(
            f"scalinglaws predict: {len(missing)} group(s) not predicted:\n  " + "\n  ".join(missing), file=sys.stderr
        )
        return 3
    return 0
