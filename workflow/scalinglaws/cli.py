"""The `scalinglaws` command: one subcommand per workflow stage, plus store maintenance.

Snakemake rules call these; each is also usable by hand. Heavy imports (torch) happen only in
the subcommands that train.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zipfile
from pathlib import Path

from . import store
from .errors import Preempted, UserError


def cmd_data(args) -> None:
    """Materialise one shard (or the eval splits) of a dataset into the store."""
    from .datasets import make_dataset

    spec = json.loads(args.dataset)
    ds = make_dataset(spec["name"], {**spec["options"], "type": spec.get("type", spec["name"])}, spec["seed"])
    if args.n is None:
        splits = ds.eval_splits()
        store.atomic_save_npz(args.out, val_x=splits["val"].x, val_y=splits["val"].y,
                              test_x=splits["test"].x, test_y=splits["test"].y)  # fmt: skip
    else:
        shard = ds.shard(args.n)
        store.atomic_save_npz(args.out, x=shard.x, y=shard.y)


def _load_splits(shard: str, evals: str):
    """(train, val, test) Splits from a stored shard and eval file; a damaged file is moved aside."""
    import numpy as np

    from .datasets import Split

    arrays = {}
    for path in (shard, evals):
        try:  # reading every array checks its CRC-32: a damaged shard is never used
            with np.load(path) as f:
                arrays.update({k: f[k] for k in f.files})
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            moved = store.quarantine(path)
            raise store.CorruptRecord(f"{path} is corrupted ({exc}); moved to {moved.name}: rerun to rebuild it") from None
    train = Split(arrays["x"], arrays["y"])
    return train, Split(arrays["val_x"], arrays["val_y"]), Split(arrays["test_x"], arrays["test_y"])


def cmd_train(args) -> None:
    """Train one ensemble job and write its metrics.json (atomically: no partial file is ever done).

    On CUDA the job takes a GPU slot first (gpus.py), so concurrent jobs spread over all GPUs.
    The file also records where the job's time went (`timing`), for benchmarks/bench_study.py.
    """
    started = time.time()
    import torch

    from .gpus import GpuSlot
    from .training import TrainSpec, train_ensemble

    imported = time.time()
    torch.set_num_threads(args.threads)
    spec = json.loads(args.spec)
    train_spec = TrainSpec(**spec["train"])
    device, slot = args.device, None
    if device in ("auto", "cuda") and torch.cuda.is_available():
        cost = train_spec.steps_for(spec["n"]) * spec["size"] ** 2  # a rough measure of the job's work
        slot = GpuSlot(torch.cuda.device_count(), cost=cost)
        device = f"cuda:{slot.gpu}"
        torch.cuda.set_device(slot.gpu)
        torch.cuda.init()
    cuda_ready = time.time()
    train, val, test = _load_splits(args.shard, args.eval)
    loaded = time.time()
    trainer_timing: dict = {}
    runs = train_ensemble(
        spec["family_type"], spec["size"], spec["model_options"], spec["task"], spec["num_outputs"],
        train, val, test, train_spec, device=device, timing=trainer_timing, metric=spec.get("metric"),
        checkpoint=Path(args.out).with_name("checkpoint.pt"), checkpoint_every_s=args.checkpoint_every,
    )  # fmt: skip
    now = time.time()
    process_start = now - _seconds_since_process_start()
    timing = {
        "process_start": process_start,
        "python_start_s": started - process_start,  # interpreter start-up and `import scalinglaws`
        "import_s": imported - started,
        "cuda_init_s": cuda_ready - imported,
        "load_s": loaded - cuda_ready,
        "train_ensemble": trainer_timing,
        "end": now,
        "gpu": slot.gpu if slot else None,
    }
    store.write_record(args.out, {"key": store.digest(spec), "spec": spec, "runs": runs, "timing": timing})


def _seconds_since_process_start() -> float:
    """Age of this process (Linux: from /proc, 10 ms resolution); 0 where that is unknown."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        return time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def cmd_prune(args) -> None:
    """Prune one point (every seed x lr) by IMP with rewinding; write its metrics.json atomically."""
    import torch

    from .imp import iterative_magnitude_pruning
    from .spec import TrainSpec

    torch.set_num_threads(args.threads)
    spec = json.loads(args.spec)
    train, val, test = _load_splits(args.shard, args.eval)
    runs = iterative_magnitude_pruning(
        spec["family_type"], spec["size"], spec["model_options"], spec["task"], spec["num_outputs"],
        train, val, test, TrainSpec(**spec["train"]), device=args.device, **spec["prune"],
    )  # fmt: skip
    store.write_record(args.out, {"key": store.digest(spec), "spec": spec, "runs": runs})


def cmd_prune_report(args) -> None:
    """The pruning tables, fits (density and invariant laws, CIs, backtests) and figures."""
    from .pruning import curve_table, fit_pruning, fit_summary, load_pruning_runs, select_lineages
    from .pruning_plots import draw_pruning

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
    from .aggregate import learning_curve, load_runs, size_table

    runs = load_runs(args.metrics)
    out = Path(args.out_dir)
    store.atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
    curve = learning_curve(runs, args.size_tolerance)
    store.atomic_write_text(out / "learning_curve.csv", curve.to_csv(index=False))
    store.atomic_write_text(out / "sizes.csv", size_table(runs).to_csv(index=False))


def cmd_fit_study(args) -> None:
    import pandas as pd

    from .fitting import fit_study, law_table

    runs = pd.read_csv(args.runs)
    laws = args.laws.split(",")
    fits = fit_study(runs, args.target, args.bootstrap, args.seed, args.size_tolerance, laws)
    store.atomic_write_json(args.out, fits)
    if args.table:
        store.atomic_write_text(args.table, law_table(fits).to_csv(index=False))


def cmd_fit(args) -> None:
    """Fit laws to an external CSV table and write fits.json, laws.csv and one figure per law."""
    from .tables import fit_table, write_outputs

    options = {"joint": {"eps0": args.eps0}, "chinchilla": {"screen": args.starts}}
    derive = {}
    for item in args.derive:
        name, sep, expr = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--derive {item!r}: expected NAME=EXPRESSION")
        derive[name.strip()] = expr.strip()
    laws, x_cols = [v.strip() for v in args.law.split(",")], [v.strip() for v in args.x.split(",")]
    fits = fit_table(args.table, laws, x_cols, args.y, args.group, args.holdout_col, args.bootstrap, args.seed,
                     options, derive, args.where)  # fmt: skip
    write_outputs(fits, args.out, Path(args.table).stem)
    for key, fit in fits.items():
        print(f"== {args.table}" + (f" [{args.group} = {key}]" if args.group else ""))
        for name in fit["laws"]:
            entry = fit[name]
            print(entry.get("summary", f"{name}: not fitted: {entry.get('error')}"))
            bt = entry.get("backtest", {})
            if "mean_rel_error" in bt:
                print(f"  backtest ({bt['how']}): mean relative error {100 * bt['mean_rel_error']:.2f}%")
        for choice in fit["selection"]:
            print(f"selected by backtest: {choice['law']}")
    print(f"wrote {args.out}/fits.json, laws.csv and figures/")


def cmd_plot(args) -> None:
    import pandas as pd

    from .plots import draw_all

    tables = Path(args.tables)
    fits = json.loads(Path(args.fits).read_text())
    draw_all(pd.read_csv(tables / "learning_curve.csv"), pd.read_csv(tables / "sizes.csv"), fits, args.out_dir)


def cmd_store_ls(args) -> None:
    entries = store.list_entries(store.store_root(args.store))
    for e in entries:
        print(f"{e['kind']:7s} {e['key']}  {e['bytes'] / 1e6:9.3f} MB  {e.get('what', '')}")
    total = sum(e["bytes"] for e in entries)
    print(f"{len(entries)} entries, {total / 1e6:.1f} MB in {store.store_root(args.store)}")


def cmd_store_gc(args) -> None:
    """Remove store entries that none of the given study configs refers to."""
    import shutil

    from .study import Study

    keep: set[str] = set()
    roots = set()
    for path in args.configfile:
        study = Study.from_file(path)
        keep |= set(study.shards) | set(study.evals) | set(study.jobs)
        if study.config.get("pruning"):
            from .pruning import pruning_jobs

            keep |= set(pruning_jobs(study))
        roots.add(study.store)
    root = store.store_root(args.store) if args.store else roots.pop()
    doomed = store.unreferenced(root, keep)
    for e in doomed:
        print(f"{'remove' if args.yes else 'would remove'} {e['kind']}/{e['key']} ({e['bytes'] / 1e6:.3f} MB) {e.get('what', '')}")
        if args.yes:
            shutil.rmtree(e["path"])
    freed = sum(e["bytes"] for e in doomed) / 1e6
    print(f"{len(doomed)} unreferenced entries, {freed:.1f} MB" + ("" if args.yes else " (dry run: add --yes to remove)"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scalinglaws", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("data", help="materialise a shard or the eval splits")
    s.add_argument("--dataset", required=True, help="JSON: {name, type, options, seed} (see Study.data_spec)")
    s.add_argument("--n", type=int, help="shard size; omit for the validation and test splits")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_data)

    s = sub.add_parser("train", help="train one ensemble job")
    s.add_argument("--spec", required=True, help="JSON job spec (see study.py)")
    s.add_argument("--shard", required=True)
    s.add_argument("--eval", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--device", default="auto")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--checkpoint-every", type=float, default=600.0,
                   help="seconds between checkpoints (one is also written on SIGTERM)")  # fmt: skip
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("prune", help="prune one trained point by IMP with rewinding (all seeds x lrs)")
    s.add_argument("--spec", required=True, help="JSON pruning job spec (see pruning.py)")
    s.add_argument("--shard", required=True)
    s.add_argument("--eval", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--device", default="auto")
    s.add_argument("--threads", type=int, default=1)
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
    s.set_defaults(func=cmd_fit_study)

    s = sub.add_parser("fit", help="fit laws to a CSV table of measurements (no training)")
    s.add_argument("table", help="CSV file: one row per run")
    s.add_argument("--law", required=True, help="law name(s), comma-separated, or 'auto': all that take as many x "
                   "columns; with several, the one with the best backtest is selected")  # fmt: skip
    s.add_argument("--x", required=True, help="x column(s), comma-separated (power: n; joint: m,n; chinchilla: N,D)")
    s.add_argument("--y", required=True, help="the column to fit (an error or loss)")
    s.add_argument("--group", help="fit every value of this column separately")
    s.add_argument("--holdout-col", help="rows flagged 1/true/yes here are left out of the fit and predicted")
    s.add_argument("--derive", action="append", default=[], metavar="NAME=EXPR",
                   help="a computed column, e.g. 'D=`Training FLOP` / (6 * `Model Size`)' (repeatable)")
    s.add_argument("--where", metavar="EXPR", help="fit only the rows where this holds, e.g. 'loss < 3.44'")  # fmt: skip
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates (default 200)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--eps0", type=float, help="joint: the random-guess error (fitted if not given)")
    s.add_argument("--starts", type=int, help="chinchilla: L-BFGS from only the K best of the 4,500 grid starts")
    s.set_defaults(func=cmd_fit)

    s = sub.add_parser("plot", help="figures from the tables and the fit JSON")
    s.add_argument("--tables", required=True)
    s.add_argument("--fits", required=True)
    s.add_argument("--out-dir", required=True)
    s.set_defaults(func=cmd_plot)

    st = sub.add_parser("store", help="inspect or clean the content-addressed store").add_subparsers(
        dest="store_command", required=True
    )
    s = st.add_parser("ls", help="list stored shards, eval splits and runs")
    s.add_argument("--store", help="store folder (default: $SCALINGLAWS_STORE or results/store)")
    s.set_defaults(func=cmd_store_ls)
    s = st.add_parser("gc", help="remove entries that none of the given configs refers to")
    s.add_argument("--configfile", action="append", required=True, help="a study config to keep (repeatable)")
    s.add_argument("--store", help="store folder (default: the configs' store)")
    s.add_argument("--yes", action="store_true", help="really remove (default: only list)")
    s.set_defaults(func=cmd_store_gc)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except Preempted as exc:
        print(f"scalinglaws {args.command}: {exc}", file=sys.stderr)
        return 143  # the conventional status of a SIGTERM'd process: the job did not finish
    except (UserError, OSError) as exc:
        # Expected failures (bad input, missing files) get one clear line, not a traceback.
        print(f"scalinglaws {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
