"""The `scalinglaws` command: one subcommand per workflow stage, plus store maintenance.

Snakemake rules call these; each is also usable by hand. Heavy imports (torch) happen only in
the subcommands that train.
"""
from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

from . import store
from .errors import UserError


def cmd_data(args) -> None:
    """Materialise one shard (or the eval splits) of a dataset into the store."""
    from .datasets import make_dataset

    spec = json.loads(args.dataset)
    ds = make_dataset(spec["name"], {**spec["options"], "type": spec["type"]}, spec["seed"])
    if args.n is None:
        splits = ds.eval_splits()
        store.atomic_save_npz(args.out, val_x=splits["val"].x, val_y=splits["val"].y,
                              test_x=splits["test"].x, test_y=splits["test"].y)  # fmt: skip
    else:
        shard = ds.shard(args.n)
        store.atomic_save_npz(args.out, x=shard.x, y=shard.y)


def cmd_train(args) -> None:
    """Train one ensemble job and write its metrics.json (atomically: no partial file is ever done)."""
    import numpy as np
    import torch

    from .datasets import Split
    from .training import TrainSpec, train_ensemble

    torch.set_num_threads(args.threads)
    spec = json.loads(args.spec)
    arrays = {}
    for path in (args.shard, args.eval):
        try:  # reading every array checks its CRC-32: a damaged shard is never used
            with np.load(path) as f:
                arrays.update({k: f[k] for k in f.files})
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            moved = store.quarantine(path)
            raise store.CorruptRecord(f"{path} is corrupted ({exc}); moved to {moved.name}: rerun to rebuild it") from None
    train = Split(arrays["x"], arrays["y"])
    val, test = Split(arrays["val_x"], arrays["val_y"]), Split(arrays["test_x"], arrays["test_y"])
    runs = train_ensemble(
        spec["family_type"], spec["size"], spec["model_options"], spec["task"], spec["num_outputs"],
        train, val, test, TrainSpec(**spec["train"]), device=args.device, metric=spec["metric"],
    )  # fmt: skip
    store.write_record(args.out, {"key": store.digest(spec), "spec": spec, "runs": runs})


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

    from .fitting import fit_study

    runs = pd.read_csv(args.runs)
    store.atomic_write_json(args.out, fit_study(runs, args.target, args.bootstrap, args.seed, args.size_tolerance))


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
    s.set_defaults(func=cmd_train)

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
    s.set_defaults(func=cmd_fit_study)

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
    except (UserError, OSError) as exc:
        # Expected failures (bad input, missing files) get one clear line, not a traceback.
        print(f"scalinglaws {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
