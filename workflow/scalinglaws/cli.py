"""The `scalinglaws` command: one subcommand per workflow stage, plus store maintenance.

Snakemake rules call these; each is also usable by hand. Heavy imports (torch) happen only in
the subcommands that train.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import __version__, identity, store
from .errors import Preempted, UserError
from .plan import options as plan_options
from .store_cli import add_store_commands


def cmd_data(args) -> None:
    """Materialise one shard (or the eval splits) of a dataset into the store, with its meta.json."""
    from .study import write_data

    spec = json.loads(args.dataset)
    spec.setdefault("type", spec.get("name"))
    spec["n"] = args.n if args.n is not None else spec.get("n")
    write_data({k: spec[k] for k in ("type", "options", "seed", "n")}, args.out)


def cmd_train(args) -> None:
    """Train one ensemble job and write its record (train/job.py)."""
    args.started = time.time()
    from .train.job import run_train_job

    run_train_job(json.loads(args.spec), args.shard, args.eval, args.out, args)


def cmd_prune(args) -> None:
    """Prune one trained point (every seed x lr) by IMP with rewinding (train/imp.py)."""
    from .train.job import run_prune_job

    run_prune_job(json.loads(args.spec), args.shard, args.eval, args.out, args)


def cmd_prune_report(args) -> None:
    """The pruning tables, fits (density and invariant laws, CIs, backtests) and figures."""
    from .aggregate.pruning import curve_table, load_pruning_runs, select_lineages
    from .fit.pruning import fit_pruning, fit_summary
    from .report.pruning_figures import draw_pruning

    out = Path(args.out_dir)
    runs = load_pruning_runs(args.metrics)
    store.atomic_write_text(out / "pruning_runs.csv", runs.to_csv(index=False))
    curves = curve_table(select_lineages(runs), args.target)
    store.atomic_write_text(out / "pruning_curves.csv", curves.to_csv(index=False))
    fits = fit_pruning(runs, args.target, args.bootstrap, args.seed)
    store.atomic_write_json(out / "pruning_fits.json", fits)
    draw_pruning(curves, fits, out / "figures")
    print("\n".join(fit_summary(fits)))


def cmd_aggregate(args) -> None:
    from .aggregate.curves import learning_curve, size_table
    from .aggregate.runs import load_runs

    runs = load_runs(args.metrics, json.loads(Path(args.labels).read_text()))
    out = Path(args.out_dir)
    store.write_result(out / "runs.csv", runs.to_csv(index=False))
    curve = learning_curve(runs, args.size_tolerance)
    store.write_result(out / "learning_curve.csv", curve.to_csv(index=False))
    store.write_result(out / "sizes.csv", size_table(runs).to_csv(index=False))


def cmd_fit_study(args) -> None:
    import pandas as pd

    from .fit.best_guess import best_guesses
    from .fit.study import StudyFit, fit_study
    from .report.tables import law_table

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
    from .fit.external import TableSpec, failures, fit_table
    from .fit.printout import table_fit_lines
    from .report.tables import write_outputs

    # the random-guess error is joint's and m4's eps0 and anchors power's small-data region
    options = {
        "joint": {"eps0": args.eps0},
        "m4": {"eps0": args.eps0},
        "power": {"best_guess": args.eps0},
        "chinchilla": {"screen": args.starts},
    }
    derive = {}
    for item in args.derive:
        name, sep, expr = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--derive {item!r}: expected NAME=EXPRESSION")
        derive[name.strip()] = expr.strip()
    laws, x_cols = [v.strip() for v in args.law.split(",")], [v.strip() for v in args.x.split(",")]
    args.out = args.out or default_out(args.table)
    spec = TableSpec(
        args.table, laws, x_cols, args.y, args.group, args.holdout_col, derive, args.where, options, args.replicate_col
    )
    fits = fit_table(spec, args.bootstrap, args.seed, args.jobs)
    write_outputs(fits, args.out, Path(args.table).stem, figures=not args.no_figures)
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


def cmd_predict(args) -> None:
    """The error a fitted law expects at new x, with the CI of the mean and the PI of a new run."""
    from .fit.predict import load_fits, parse_values, predict_rows

    source, fits = load_fits(args.fits)
    at, sizes = parse_values(args.at, "--at"), parse_values(args.size, "--size")
    rows = predict_rows(source, fits, at, args.law, args.group, sizes)
    if args.format == "json":
        print(rows.to_json(orient="records", indent=1))
    else:
        print(rows.to_csv(index=False), end="")


def cmd_plot(args) -> None:
    import pandas as pd

    from .report.figures import draw_all

    tables = Path(args.tables)
    fits = json.loads(Path(args.fits).read_text())
    curve = pd.read_csv(tables / "learning_curve.csv")
    draw_all(curve, pd.read_csv(tables / "sizes.csv"), fits, args.out_dir, args.extrapolate)
    if args.summary_dir:
        from .report.summary import write_summaries

        write_summaries(fits, curve, args.out_dir, args.summary_dir, args.extrapolate, _proposer(args, fits, tables))


def _proposer(args, fits: dict, tables: Path):
    """The report's next-step proposal per curve, when the study's config is given."""
    if not args.configfile:
        return None
    from .plan.command import find_study
    from .plan.cost import read_runs
    from .plan.overlay import proposal_for

    study, runs = find_study(args.configfile, None), read_runs(tables.parent)
    return lambda group: {**proposal_for(fits, group, study, runs, args.extrapolate), "results": str(tables.parent)}


def _job_parser(sub, name: str, help: str, spec_help: str) -> argparse.ArgumentParser:
    """A subcommand that runs one stored job: its spec, inputs, output and where it runs."""
    s = sub.add_parser(name, help=help)
    s.add_argument("--spec", required=True, help=spec_help)
    s.add_argument("--shard", required=True, help="the stored shard (data.npz)")
    s.add_argument("--eval", required=True, help="the stored validation and test splits (data.npz)")
    s.add_argument("--out", required=True, help="the job's record (metrics.json), written atomically")
    s.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    s.add_argument("--threads", type=int, default=1, help="CPU threads")
    s.add_argument("--config-hash", help="the study config's hash, for the record's provenance")
    return s


SIZE_TOLERANCE = "a shard's best size: the smallest within this fraction of the best (default %(default)s)"


def _fit_options(s: argparse.ArgumentParser, target: bool) -> None:
    """The options every fitting subcommand shares: what to fit, and its bootstrap."""
    if target:
        s.add_argument(
            "--target",
            choices=["val", "test"],
            default="test",
            help="fit the test metric or the validation metric (default %(default)s)",
        )
    s.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates (default %(default)s)")
    s.add_argument("--seed", type=int, default=0, help="seed of the bootstrap's resampling (default %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scalinglaws", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}", help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("data", help="materialise a shard or the eval splits")
    s.add_argument(
        "--dataset",
        required=True,
        help="JSON: {type, options, seed, n} (see Study.data_spec); "
        "n: the shard size, or null for the validation and test splits",
    )
    s.add_argument("--n", type=int, help="shard size (overrides the JSON's n)")
    s.add_argument("--out", required=True, help="the data file to write (data.npz; meta.json goes beside it)")
    s.set_defaults(func=cmd_data)

    s = _job_parser(sub, "train", "train one ensemble job", "JSON job spec (see study.py)")
    s.add_argument(
        "--checkpoint-every",
        type=float,
        default=600.0,
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

    s = sub.add_parser("prune-report", help="pruning tables, fits and figures from pruning metrics files")
    s.add_argument("--out-dir", required=True, help="folder for the pruning tables, fits and figures/")
    _fit_options(s, target=True)
    s.add_argument("metrics", nargs="+", help="the pruning jobs' records (metrics.json)")
    s.set_defaults(func=cmd_prune_report)

    s = sub.add_parser("aggregate", help="runs.csv, learning_curve.csv, sizes.csv from metrics files")
    s.add_argument("--out-dir", required=True, help="folder for the three tables")
    s.add_argument("--size-tolerance", type=float, default=0.05, help=SIZE_TOLERANCE)
    s.add_argument("--labels", required=True, help="JSON file: job key -> [[dataset, family], ...]")
    s.add_argument("metrics", nargs="+", help="the ensemble jobs' records (metrics.json)")
    s.set_defaults(func=cmd_aggregate)

    s = sub.add_parser("fit-study", help="fit the laws to every learning curve of runs.csv")
    s.add_argument("--runs", required=True, help="the study's runs.csv (scalinglaws aggregate)")
    s.add_argument("--out", required=True, help="the fits to write (fits.json)")
    _fit_options(s, target=True)
    s.add_argument("--size-tolerance", type=float, default=0.05, help=SIZE_TOLERANCE)
    s.add_argument("--laws", default="power,size", help="comma-separated law names")
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

    s = sub.add_parser("fit", help="fit laws to a CSV table of measurements (no training)")
    s.add_argument("table", help="CSV file: one row per run")
    s.add_argument(
        "--law",
        default="auto",
        help="law name(s), comma-separated, or 'auto' (the default): all that "
        "take as many x columns; with several, the one with the best backtest is selected",
    )
    s.add_argument("--x", required=True, help="x column(s), comma-separated (power: n; joint: m,n; chinchilla: N,D)")
    s.add_argument("--y", required=True, help="the column to fit (an error or loss)")
    s.add_argument("--group", help="fit every value of this column separately")
    s.add_argument("--holdout-col", help="rows flagged 1/true/yes here are left out of the fit and predicted")
    s.add_argument(
        "--replicate-col", help="rows with the same x that differ here are replicates (e.g. seeds), averaged"
    )
    s.add_argument("--no-figures", action="store_true", help="write fits.json and laws.csv only")
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
    _fit_options(s, target=False)
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

    s = sub.add_parser("predict", help="a fitted law's error at new x, with its 95% CI and prediction interval")
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

    plan_options.add_parser(sub)

    s = sub.add_parser("plot", help="figures from the tables and the fit JSON")
    s.add_argument("--tables", required=True, help="the folder of learning_curve.csv and sizes.csv")
    s.add_argument("--fits", required=True, help="the study's fits.json")
    s.add_argument("--out-dir", required=True, help="folder for the figures (PNG and PDF)")
    s.add_argument("--extrapolate", type=float, default=10.0, help="draw the fits out to this many times the largest n")
    s.add_argument("--summary-dir", help="also write each curve's summary page (the report's first page) here")
    s.add_argument(
        "--configfile",
        action="append",
        metavar="FILE",
        help="the study's config (repeatable, merged "
        "in order): the summary pages then propose the next shards and sizes (scalinglaws plan --next)",
    )
    s.set_defaults(func=cmd_plot)

    add_store_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except Preempted as exc:
        print(f"scalinglaws {args.command}: {exc}", file=sys.stderr)
        return 143  # the conventional status of a SIGTERM'd process: the job did not finish
    except (UserError, OSError) as exc:
        # Expected failures (bad input, missing files) get one clear line, not a traceback.
        print(f"scalinglaws {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return code or 0  # a command may report partial failure (fit: 3)


if __name__ == "__main__":
    sys.exit(main())
