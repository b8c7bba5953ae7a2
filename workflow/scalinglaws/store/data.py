"""`scalinglaws data`, the data rule's command: materialise one shard or the eval splits of a
dataset in the store, with its record meta.json beside it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import store


def add_parser(sub) -> None:
    """Register `data` on the CLI's subparsers."""
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


def cmd_data(args) -> None:
    """Materialise one shard (or the eval splits) of a dataset into the store, with its meta.json."""
    spec = json.loads(args.dataset)
    spec.setdefault("type", spec.get("name"))
    spec["n"] = args.n if args.n is not None else spec.get("n")
    write_data({k: spec[k] for k in ("type", "options", "seed", "n")}, args.out)


def write_data(spec: dict, out: str | Path) -> None:
    """Materialise a shard (spec["n"]) or the eval splits (n None) of Study.data_spec at `out`,
    then its record `meta.json` beside it: what it is and a hash of the arrays. The record is
    the same for the same content (no time, no provenance) and is not rewritten when it is
    unchanged, so a rebuilt shard does not look new to the jobs that read it. Under the entry's
    lock, an intact copy (its record names this spec, every array passes its CRC) is left alone:
    another invocation on a shared store may have written it since this one planned the job."""
    with store.job_lock(out) as note:
        if _intact(spec, out):
            note("found")
            return
        _write_data(spec, out)
        note("computed")


def _intact(spec: dict, out: str | Path) -> bool:
    try:
        store.verify(out, full=True)
        return store.read_record(store.meta_file(out))["spec"] == spec
    except (OSError, KeyError, store.CorruptRecord):
        return False


def _write_data(spec: dict, out: str | Path) -> None:
    from ..datasets import make_dataset

    ds = make_dataset(spec["type"], {**spec["options"], "type": spec["type"]}, spec["seed"])
    if spec["n"] is None:
        splits = ds.eval_splits()
        arrays = {
            "val_x": splits["val"].x,
            "val_y": splits["val"].y,
            "test_x": splits["test"].x,
            "test_y": splits["test"].y,
        }
    else:
        shard = ds.shard(spec["n"])
        arrays = {"x": shard.x, "y": shard.y}
    store.atomic_save_npz(out, **arrays)
    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(f"{name}:{arrays[name].dtype}:{arrays[name].shape}".encode() + arrays[name].tobytes())
    meta, path = {"spec": spec, "arrays_sha256": h.hexdigest()}, store.meta_file(out)
    try:
        if {k: v for k, v in store.read_record(path).items() if k != "checksum"} == meta:
            return
    except (OSError, store.CorruptRecord):
        pass
    store.write_record(path, meta)
