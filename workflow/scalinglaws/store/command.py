"""`scalinglaws store ...`: list, check and clean the content-addressed store (store/__init__.py)."""

from __future__ import annotations

from .. import store


def cmd_store_ls(args) -> None:
    entries = store.list_entries(store.store_root(args.store))
    for e in entries:
        p = e.get("provenance") or {}
        made = " ".join(
            f"{k}={p[k]}" for k in ("scalinglaws", "commit", "torch", "numpy", "device", "config") if p.get(k)
        )
        print(
            f"{e['kind']:7s} {e['key']}  {e['bytes'] / 1e6:9.3f} MB  {e.get('what', '')}"
            + (f"  [{made}]" if made else "")
        )
    total = sum(e["bytes"] for e in entries)
    print(f"{len(entries)} entries, {total / 1e6:.1f} MB in {store.store_root(args.store)}")


def cmd_store_verify(args) -> None:
    """Check every stored file of the given studies (checksums, CRCs); --repair fixes them."""
    from ..study import Study
    from . import integrity

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

    from ..study import Study

    keep: set[str] = set()
    roots = set()
    for path in args.configfile:
        study = Study.from_file(path)
        keep |= set(study.shards) | set(study.evals) | set(study.jobs) | set(study.pruning_jobs())
        roots.add(study.store)
    root = store.store_root(args.store) if args.store else roots.pop()
    doomed = store.unreferenced(root, keep)
    for e in doomed:
        print(
            f"{'remove' if args.yes else 'would remove'} {e['kind']}/{e['key']} ({e['bytes'] / 1e6:.3f} MB) {e.get('what', '')}"
        )
        if args.yes:
            shutil.rmtree(e["path"])
    freed = sum(e["bytes"] for e in doomed) / 1e6
    print(
        f"{len(doomed)} unreferenced entries, {freed:.1f} MB" + ("" if args.yes else " (dry run: add --yes to remove)")
    )


def add_parser(sub) -> None:
    """Register `store ls`, `store verify` and `store gc` under the main parser's subcommands."""
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
