"""Content-addressed store: identities, paths and atomic writes.

Every stored object (a shard's data, an ensemble job's metrics) lives at a path derived from a
hash of everything that determines its content. Identical work therefore maps to the same path
and is never redone; different work can never collide.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import UserError

DEFAULT_STORE = "results/store"
STORE_ENV = "SCALINGLAWS_STORE"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()  # read once, at import: os.umask can only be read by setting it


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the same object always gives the same bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_plain)


def _plain(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    raise TypeError(f"cannot hash {type(obj).__name__}")


def digest(obj: Any, length: int = 20) -> str:
    """Short hex SHA-256 of an object's canonical JSON."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]


def store_root(configured: str | None = None) -> Path:
    """The store location: $SCALINGLAWS_STORE, else the config's `store`, else results/store."""
    return Path(os.environ.get(STORE_ENV) or configured or DEFAULT_STORE)


# -- the layout: <store>/<kind>/<key>/<file>, stated here only --------------------------------
# An entry's main file is its content: a shard's or the eval splits' arrays, or a job's record.
# A data file has its own small record beside it, meta.json: what it is and a hash of its arrays.
ENTRY_FILES = {"shards": "data.npz", "eval": "data.npz", "runs": "metrics.json", "prune": "metrics.json"}
KINDS = tuple(ENTRY_FILES)
META = "meta.json"


def entry_file(root: Path | str, kind: str, key: str, name: str | None = None) -> str:
    """A file of a stored entry: its main file, or `name` (e.g. its log.txt). A plain string,
    not a Path: the DAG asks for thousands of these on every invocation."""
    return os.path.join(root, kind, key, name or ENTRY_FILES[kind])


def meta_file(data_file: Path | str) -> str:
    """The record beside a stored data file."""
    return os.path.join(os.path.dirname(data_file), META)


def record_file(root: Path | str, kind: str, key: str) -> str:
    """An entry's JSON record: a job's record itself, or the meta.json beside a data file."""
    path = entry_file(root, kind, key)
    return path if ENTRY_FILES[kind].endswith(".json") else meta_file(path)


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target.

    A reader (or a rerun after SIGKILL) sees either the old file, no file, or the whole new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~UMASK)  # mkstemp makes it private (0600); a store may be shared
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Path | str, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True, default=_plain) + "\n").encode())


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_save_npz(path: Path | str, **arrays) -> None:
    """np.savez to a temporary name, then rename (np.savez itself writes in place)."""
    import io

    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


@contextlib.contextmanager
def job_lock(out: Path | str):
    """Hold an exclusive lock on a stored entry's folder (an flock: released if the process dies).

    Two invocations sharing a store that start the same job at once train it once: the second
    waits, then finds the record (see train/job.py). Yields a function that appends one line to
    the lock file, the entry's journal of who computed it and who found it done (kept, as
    Snakemake never deletes it: tests and benchmarks count from it how often a job trained)."""
    import fcntl
    import socket

    lock = Path(out).with_name(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)

        def note(what: str) -> None:
            fh.write(f"{time.time():.3f} {socket.gethostname()} {os.getpid()} {what}\n")
            fh.flush()

        yield note


def journal(out: Path | str) -> list[str]:
    """What job_lock's journal says of a stored entry: one word per event ("computed", "found")."""
    lock = Path(out).with_name(".lock")
    return [line.split()[3] for line in lock.read_text().splitlines() if len(line.split()) > 3] if lock.exists() else []


# -- job records: metrics.json with a checksum, so a corrupted or truncated file is detected ----
class CorruptRecord(UserError):
    """A stored record whose content does not match its checksum (or is not even JSON)."""


def write_record(path: Path | str, record: dict) -> None:
    """Write a JSON record with a checksum of its canonical content, atomically."""
    body = {k: v for k, v in record.items() if k != "checksum"}
    atomic_write_json(path, {**body, "checksum": digest(body, length=64)})


def read_record(path: Path | str) -> dict:
    """Read a record written by write_record; raise CorruptRecord if it was damaged."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
        body = {k: v for k, v in record.items() if k != "checksum"}
        ok = record.get("checksum") == digest(body, length=64)
    except (ValueError, AttributeError, TypeError):
        ok = False
    if not ok:
        raise CorruptRecord(f"{path}: stored record is corrupted or truncated (checksum mismatch)")
    return record


# -- a study's tables and fits: plain files (CSV, JSON) with a checksum beside them ------------
def result_check(path: Path | str) -> Path:
    """The record beside a result file: its SHA-256 and the command that wrote it."""
    path = Path(path)
    return path.with_name(f".{path.name}.sha256")


LABELS = ["labels"]  # the command of the study's job labels (tables/jobs.json), which the Snakefile writes


def write_result(path: Path | str, content: str | dict | list, command: list[str] | None = None) -> None:
    """Write a table (text) or fits (a JSON object) atomically, then its check record, so that
    a damaged result is detected and rebuilt exactly by running its command again (integrity.py).
    The command is this process's (`scalinglaws <stage> ...`, as the rule ran it) unless given."""
    text = content if isinstance(content, str) else json.dumps(content, indent=1, sort_keys=True, default=_plain) + "\n"
    data = text.encode()
    atomic_write_bytes(path, data)
    argv = sys.argv[1:] if command is None else command
    write_record(result_check(path), {"sha256": hashlib.sha256(data).hexdigest(), "argv": argv})


def write_labels(path: Path | str, labels: dict) -> None:
    """tables/jobs.json, the study's job labels (written by the Snakefile), checksummed the same way."""
    write_result(path, labels, LABELS)


def digest_file(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def verify(path: Path | str, full: bool = False) -> None:
    """Raise CorruptRecord if a stored file (or a result with a check record) is damaged.

    Records are checked against their checksum, results against the SHA-256 of their check
    record. Arrays (.npz, a zip) are checked for a sound zip directory (cheap: catches
    truncation); with `full`, every member's CRC-32 is read too.
    """
    path = Path(path)
    if result_check(path).exists():
        expected = read_record(result_check(path))["sha256"]
        if digest_file(path) != expected:
            raise CorruptRecord(f"{path}: result does not match its checksum")
        return
    if path.suffix == ".json":
        read_record(path)
        return
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip() if full else None
            if not zf.namelist():
                bad = "(empty archive)"
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        bad = str(exc)
    if bad:
        raise CorruptRecord(f"{path}: stored array file is corrupted or truncated ({bad})")


def quarantine(path: Path | str) -> Path:
    """Move a damaged stored file aside (kept for inspection); its job will run again."""
    path = Path(path)
    target = path.with_name(path.name + ".corrupt")
    os.replace(path, target)
    return target


def find_damaged(paths, verified_cache: Path | str | None = None, remember: bool = False) -> list[Path]:
    """Every existing file of `paths` that fails verify(full=True); nothing is moved.

    With `verified_cache`, files that passed before with the same size, mtime and ctime are not
    read again (any write changes the ctime, even one that puts the mtime back); `remember` adds
    the files that pass now to it (real runs only: a dry run writes nothing).
    """
    seen = {}
    if verified_cache and os.path.exists(verified_cache):
        try:
            seen = json.loads(Path(verified_cache).read_text())
        except ValueError:
            seen = {}
    passed, damaged = {}, []
    for path in map(str, paths):
        try:
            st = os.stat(path)
        except OSError:
            continue
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns]  # a write that restores the mtime still changes the ctime
        if result_check(path).exists():  # a result: its check record too
            stamp.append(os.stat(result_check(path)).st_ctime_ns)
        if seen.get(path) != stamp:
            try:
                verify(path, full=True)
            except CorruptRecord:
                damaged.append(Path(path))
                continue
        passed[path] = stamp
    if remember and verified_cache and passed != seen:
        atomic_write_text(verified_cache, json.dumps(passed))
    return damaged


# -- maintenance: list the store, remove what no config refers to ------------------------------


def list_entries(root: Path | str) -> list[dict]:
    """Every stored entry: kind, key, bytes, what it is and its provenance (from its record)."""
    entries = []
    root = Path(root)
    for kind in KINDS:
        folder = root / kind
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            size = sum(f.stat().st_size for f in entry.rglob("*") if f.is_file())
            info = {"kind": kind, "key": entry.name, "bytes": size, "path": str(entry)}
            record = Path(record_file(root, kind, entry.name))
            if record.exists():
                try:
                    info.update(_describe(read_record(record)))
                except (CorruptRecord, KeyError):
                    info["what"] = "corrupted record"
            else:
                info["what"] = "unfinished"
            entries.append(info)
    return entries


def _describe(record: dict) -> dict:
    spec = record["spec"]
    if "family_type" in spec:
        what = f"{spec['family_type']} size={spec['size']} n={spec['n']} ({spec['metric']})"
    else:
        what = f"{spec['type']} " + (f"n={spec['n']}" if spec.get("n") is not None else "eval splits")
    return {
        "what": what,
        "provenance": record.get("provenance", {}),
    }  # data: no provenance (same bytes for same content)


def unreferenced(root: Path | str, keep: set[str]) -> list[dict]:
    """Entries whose key no given study refers to."""
    return [e for e in list_entries(root) if e["key"] not in keep]
