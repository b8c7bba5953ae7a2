"""How a study's results were made: the config files `snakemake` read, in order, recorded beside
the results (results/<study>/configfiles.yaml) at the end of every run that completes.

`scalinglaws plan` (and the summary page's next step) reads it, so that it plans with the config
the results were made with, not the checkout's config.yaml, and prints a `snakemake` command that
runs as printed with those same files (and the overlay). The record holds the merged config too:
a plan still knows the study when the files have been edited or removed since, and says so where
it would need them (a next round's command). It is written by the Snakefile's onsuccess, which a
dry run never reaches, so a dry run changes nothing; it holds nothing that determines a result.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import store

RECORD = "configfiles.yaml"


@dataclass
class Record:
    """The config files (paths as given to snakemake, relative to `workdir`) and the config they gave."""

    files: list[str]
    config: dict
    config_hash: str
    workdir: Path

    def command(self, *extra: str, cwd: Path | None = None) -> str:
        """`snakemake --cores all --configfile FILES EXTRA`, to be run where it was run (a `cd`
        first when `cwd`, default the current folder, is another one)."""
        files = " ".join(shlex.quote(f) for f in [*self.files, *extra])
        where = Path(cwd or Path.cwd()).resolve()
        cd = "" if where == self.workdir.resolve() else f"cd {shlex.quote(str(self.workdir))} && "
        return f"{cd}snakemake --cores all --configfile {files}"


def as_given(files, root: Path | None = None) -> list[str]:
    """The config files as a person names them in the folder snakemake runs in (`root`, default
    the current one): relative there when inside it (Snakemake holds a --configfile as an
    absolute path, and the directive's config.yaml as given)."""
    root = Path(root or Path.cwd()).resolve()
    out = []
    for f in map(Path, files):
        full = f if f.is_absolute() else root / f
        out.append(str(full.resolve().relative_to(root)) if root in full.resolve().parents else str(f))
    return out


def write_record(results: Path | str, files, config: dict, config_hash: str) -> Path:
    """Record the config files of a run that completed (atomically)."""
    files = as_given(files)
    path = Path(results) / RECORD
    head = (
        "# the config files the results in this folder were made with, in the order snakemake read\n"
        "# them (scalinglaws plan reads this; written at the end of every complete run)\n"
    )
    body = {"configfiles": [str(f) for f in files], "config_hash": config_hash, "config": config}
    store.atomic_write_text(path, head + yaml.safe_dump(body, sort_keys=False))
    return path


def read_record(results: Path | None) -> Record | None:
    """The record beside a study's results, or None (results made before records, or none)."""
    if results is None or not (Path(results) / RECORD).is_file():
        return None
    try:
        body = yaml.safe_load((Path(results) / RECORD).read_text())
        return Record(list(body["configfiles"]), dict(body["config"]), str(body["config_hash"]), _workdir(results))
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None  # a damaged record is no record: the plan then asks for --configfile


def _workdir(results: Path) -> Path:
    """Where snakemake ran: the folder that holds results/<study>."""
    return Path(results).resolve().parent.parent
