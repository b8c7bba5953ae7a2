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

from . import identity, store
from .errors import Preempted, UserError


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
    spec = StudyFit(args.target, args.bootstrap, args.seed, args.size_tolerance, tuple(args.laws.split(",")),
                    best_guesses(evals, metrics, args.target), args.fit_eps0)  # fmt: skip
    fits = fit_study(runs, spec)
    for fit in fits.values():  # who computed it (issue 13); the runs' own provenance is in runs.csv
        fit["provenance"] = identity.provenance("cpu", args.config_hash)
    store.write_result(args.out, fits)  # with a checksum beside it (integrity.py)
    if args.table:
        store.write_result(args.table, law_table(fits).to_csv(index=False))


def cmd_fit(args) -> int:
    """Fit laws to an external CSV table and write fits.json, laws.csv and one figure per law.
    Exit status 3 when some group or law could not be fitted (the others are written)."""
    from .fit.external import TableSpec, failures, fit_table
    from .fit.selection import describe
    from .report.tables import write_outputs

    # the random-guess error is joint's eps0 and anchors power's small-data region
    options = {"joint": {"eps0": args.eps0}, "power": {"best_guess": args.eps0}, "chinchilla": {"screen": args.starts}}
    derive = {}
    for item in args.derive:
        name, sep, expr = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--derive {item!r}: expected NAME=EXPRESSION")
        derive[name.strip()] = expr.strip()
    laws, x_cols = [v.strip() for v in args.law.split(",")], [v.strip() for v in args.x.split(",")]
    spec = TableSpec(args.table, laws, x_cols, args.y, args.group, args.holdout_col, derive, args.where, options,
                     args.replicate_col)  # fmt: skip
    fits = fit_table(spec, args.bootstrap, args.seed, args.jobs)
    write_outputs(fits, args.out, Path(args.table).stem, figures=not args.no_figures)
    for key, fit in fits.items():
        print(f"== {args.table}" + (f" [{args.group} = {key}]" if args.group else ""))
        if "error" in fit:
            print(f"not fitted: {fit['error']}")
            continue
        for name in fit["laws"]:
            entry = fit[name]
            print(entry.get("summary") or f"{name}: not fitted: {entry.get('error') or entry.get('skipped')}")
            bt, held = entry.get("backtest", {}), entry.get("holdout") or {}
            if "mean_rel_error" in bt:
                print(f"  backtest ({bt['how']}): mean relative error {100 * bt['mean_rel_error']:.2f}%")
            if "warning" in bt:
                print(f"  warning: backtest: {bt['warning']}")
            if "mean_rel_error" in held:
                print(f"  held-out rows ({held['points']}): mean relative error {100 * held['mean_rel_error']:.2f}%")
        for choice in fit["selection"]:
            print("\n".join(describe(choice)))
    print(f"wrote {args.out}/fits.json, laws.csv" + ("" if args.no_figures else " and figures/"))
    failed = failures(fits)
    if failed:
        print(f"scalinglaws fit: {len(failed)} fit(s) failed:\n  " + "\n  ".join(failed), file=sys.stderr)
        return 3
    return 0


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
    draw_all(pd.read_csv(tables / "learning_curve.csv"), pd.read_csv(tables / "sizes.csv"), fits, args.out_dir,
             args.extrapolate)  # fmt: skip


def cmd_store_ls(args) -> None:
    entries = store.list_entries(store.store_root(args.store))
    for e in entries:
        p = e.get("provenance") or {}
        made = " ".join(f"{k}={p[k]}" for k in ("scalinglaws", "commit", "torch", "numpy", "device", "config") if p.get(k))
        print(f"{e['kind']:7s} {e['key']}  {e['bytes'] / 1e6:9.3f} MB  {e.get('what', '')}" + (f"  [{made}]" if made else ""))
    total = sum(e["bytes"] for e in entries)
    print(f"{len(entries)} entries, {total / 1e6:.1f} MB in {store.store_root(args.store)}")


def cmd_store_verify(args) -> None:
    """Check every stored file of the given studies (checksums, CRCs); --repair fixes them."""
    from . import integrity
    from .study import Study

    bad = 0
    for path in args.configfile:
        study = Study.from_file(path)
        damaged, missing = integrity.check(study), integrity.missing_data(study)
        if args.repair:
            for line in integrity.repair(study, damaged):
                print(f"{path}: {line}")
        else:
            for item in [*map(str, damaged), *(f"{study.data_file(k)} (missing)" for k in missing)]:
                print(f"{path}: damaged: {item}")
        bad += len(damaged) + len(missing)
    print(f"{bad} damaged or missing stored files" + ("; repaired" if args.repair and bad else ""))
    if bad and not args.repair:
        raise store.CorruptRecord("run `scalinglaws store verify --repair` (or snakemake) to repair them")


def cmd_store_gc(args) -> None:
    """Remove store entries that none of the given study configs refers to."""
    import shutil

    from .study import Study

    keep: set[str] = set()
    roots = set()
    for path in args.configfile:
        study = Study.from_file(path)
        keep |= set(study.shards) | set(study.evals) | set(study.jobs) | set(study.pruning_jobs())
        roots.add(study.store)
    root = store.store_root(args.store) if args.store else roots.pop()
    doomed = store.unreferenced(root, keep)
    for e in doomed:
        print(f"{'remove' if args.yes else 'would remove'} {e['kind']}/{e['key']} ({e['bytes'] / 1e6:.3f} MB) {e.get('what', '')}")
        if args.yes:
            shutil.rmtree(e["path"])
    freed = sum(e["bytes"] for e in doomed) / 1e6
    print(f"{len(doomed)} unreferenced entries, {freed:.1f} MB" + ("" if args.yes else " (dry run: add --yes to remove)"))


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scalinglaws", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("data", help="materialise a shard or the eval splits")
    s.add_argument("--dataset", required=True, help="JSON: {type, options, seed, n} (see Study.data_spec); "
                   "n: the shard size, or null for the validation and test splits")  # fmt: skip
    s.add_argument("--n", type=int, help="shard size (overrides the JSON's n)")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_data)

    s = _job_parser(sub, "train", "train one ensemble job", "JSON job spec (see study.py)")
    s.add_argument("--checkpoint-every", type=float, default=600.0,
                   help="seconds between checkpoints (one is also written on SIGTERM)")  # fmt: skip
    s.set_defaults(func=cmd_train)

    s = _job_parser(sub, "prune", "prune one trained point by IMP with rewinding (all seeds x lrs)",
                    "JSON pruning job spec (see Study.pruning_jobs)")  # fmt: skip
    s.set_defaults(func=cmd_prune)

    s = sub.add_parser("prune-report", help="pruning tables, fits and figures from pruning metrics files")
    s.add_argument("--out-dir", required=True)
    s.add_argument("--target", choices=["val", "test"], default="test")
    s.add_argument("--bootstrap", type=int, default=200)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("metrics", nargs="+")
    s.set_defaults(func=cmd_prune_report)

    s = sub.add_parser("aggregate", help="runs.csv, learning_curve.csv, sizes.csv from metrics files")
    s.add_argument("--out-dir", required=True)
    s.add_argument("--size-tolerance", type=float, default=0.05)
    s.add_argument("--labels", required=True, help="JSON file: job key -> [[dataset, family], ...]")
    s.add_argument("metrics", nargs="+")
    s.set_defaults(func=cmd_aggregate)

    s = sub.add_parser("fit-study", help="fit the laws to every learning curve of runs.csv")
    s.add_argument("--runs", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--target", choices=["val", "test"], default="test")
    s.add_argument("--bootstrap", type=int, default=200)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--size-tolerance", type=float, default=0.05)
    s.add_argument("--laws", default="power,size", help="comma-separated law names")
    s.add_argument("--table", help="also write the fitted-law table (CSV) here")
    s.add_argument("--evals", action="append", default=[], metavar="DATASET=PATH",
                   help="a dataset's eval splits (data.npz): its best-guess error anchors the small-data "
                   "region and is the joint law's eps0 (repeatable)")  # fmt: skip
    s.add_argument("--fit-eps0", action="store_true", help="joint: fit eps0 instead of fixing it to the best guess")
    s.add_argument("--config-hash", help="the study config's hash, for the fits' provenance")
    s.set_defaults(func=cmd_fit_study)

    s = sub.add_parser("fit", help="fit laws to a CSV table of measurements (no training)")
    s.add_argument("table", help="CSV file: one row per run")
    s.add_argument("--law", required=True, help="law name(s), comma-separated, or 'auto': all that take as many x "
                   "columns; with several, the one with the best backtest is selected")  # fmt: skip
    s.add_argument("--x", required=True, help="x column(s), comma-separated (power: n; joint: m,n; chinchilla: N,D)")
    s.add_argument("--y", required=True, help="the column to fit (an error or loss)")
    s.add_argument("--group", help="fit every value of this column separately")
    s.add_argument("--holdout-col", help="rows flagged 1/true/yes here are left out of the fit and predicted")
    s.add_argument("--replicate-col", help="rows with the same x that differ here are replicates (e.g. seeds), averaged")
    s.add_argument("--no-figures", action="store_true", help="write fits.json and laws.csv only")
    s.add_argument("--jobs", type=int, default=1, help="fit the groups in this many processes (default 1)")
    s.add_argument("--derive", action="append", default=[], metavar="NAME=EXPR",
                   help="a computed column, e.g. 'D=`Training FLOP` / (6 * `Model Size`)' (repeatable)")
    s.add_argument("--where", metavar="EXPR", help="fit only the rows where this holds, e.g. 'loss < 3.44'")  # fmt: skip
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates (default 200)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--eps0", type=float, help="the random-guess error: joint's eps0 (fitted if not given) and the "
                   "anchor of power's small-data region (none is detected without it)")  # fmt: skip
    s.add_argument("--starts", type=int, help="chinchilla: L-BFGS from only the K best of the 4,500 grid starts")
    s.set_defaults(func=cmd_fit)

    s = sub.add_parser("predict", help="a fitted law's error at new x, with its 95% CI and prediction interval")
    s.add_argument("fits", help="a study's results folder, a `scalinglaws fit` output folder, or a fits.json")
    s.add_argument("--at", required=True, metavar="X[,X...]", help="where to predict (the law's axis: n for "
                   "power and joint), measured or not")  # fmt: skip
    s.add_argument("--law", help="default: the law the backtest selected (else the first fitted)")
    s.add_argument("--group", help="one curve, e.g. teacher/mlp (default: every one)")
    s.add_argument("--size", metavar="M[,M...]", help="joint laws: the model size(s) (their other input)")
    s.add_argument("--format", choices=["csv", "json"], default="csv")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("plot", help="figures from the tables and the fit JSON")
    s.add_argument("--tables", required=True)
    s.add_argument("--fits", required=True)
    s.add_argument("--out-dir", required=True)
    s.add_argument("--extrapolate", type=float, default=10.0, help="draw the fits out to this many times the largest n")
    s.set_defaults(func=cmd_plot)

    st = sub.add_parser("store", help="inspect or clean the content-addressed store").add_subparsers(
        dest="store_command", required=True
    )
    s = st.add_parser("ls", help="list stored shards, eval splits and runs")
    s.add_argument("--store", help="store folder (default: $SCALINGLAWS_STORE or results/store)")
    s.set_defaults(func=cmd_store_ls)
    s = st.add_parser("verify", help="check the stored files of the given studies; --repair rebuilds them")
    s.add_argument("--configfile", action="append", required=True, help="a study config (repeatable)")
    s.add_argument("--repair", action="store_true", help="move damaged records aside, rebuild damaged data")
    s.set_defaults(func=cmd_store_verify)
    s = st.add_parser("gc", help="remove entries that none of the given configs refers to")
    s.add_argument("--configfile", action="append", required=True, help="a study config to keep (repeatable)")
    s.add_argument("--store", help="store folder (default: the configs' store)")
    s.add_argument("--yes", action="store_true", help="really remove (default: only list)")
    s.set_defaults(func=cmd_store_gc)
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
