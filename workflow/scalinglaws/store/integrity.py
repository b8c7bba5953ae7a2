"""Find and repair a study's damaged stored files, once, before any job runs.

Runs at the start of a real `snakemake` run (never a dry run, --summary or a job's own parse:
those change nothing) and in `scalinglaws store verify --repair`. Repairs are exact:
- a damaged run record is moved aside (`metrics.json.corrupt`), so its job, and only it, trains
  again; the study's runs.csv goes too, as Snakemake does not rebuild a missing input of
  up-to-date outputs;
- a damaged or missing shard or eval split that trained jobs depend on is rebuilt here, in
  place, from its config: were it rebuilt by a job of the DAG, Snakemake would retrain every
  job that reads it, though their inputs are intact;
- a damaged table or fit (results/<study>/tables, fits: each has a check record beside it,
  store.write_result) is moved aside and rebuilt here by its own command, as the rule ran it,
  and given its former age: a job of the DAG would rerun everything downstream of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .. import store
from ..study import Study
from .data import write_data


def verified_cache(study: Study) -> str:
    return f".snakemake/scalinglaws/{study.name}.verified.json"


def check(study: Study, remember: bool = False) -> list[Path]:
    """The study's damaged stored files (records, shards, eval splits and their meta.json)."""
    data = [study.data_file(k) for k in [*study.shards, *study.evals]]
    paths = [study.job_file(k) for k in study.jobs] + data + [store.meta_file(p) for p in data] + result_files(study)
    return store.find_damaged(paths, verified_cache(study), remember)


def result_files(study: Study) -> list[Path]:
    """The study's tables and fits that have a check record (store.write_result)."""
    return sorted(p.with_name(p.name[1 : -len(".sha256")]) for p in study.results.rglob(".*.sha256"))


def missing_data(study: Study) -> list[str]:
    """Keys of shards and eval splits that are missing though a trained job of the study read them."""
    needed = set()
    for key, job in study.jobs.items():
        if os.path.exists(study.job_file(key)):
            needed |= {job.shard_key, job.eval_key}
    files = {k: study.data_file(k) for k in needed}
    return sorted(k for k, f in files.items() if not (os.path.exists(f) and os.path.exists(store.meta_file(f))))


def repair(study: Study, damaged: list[Path]) -> list[str]:
    """Repair what check() and missing_data() found; one line per repair, for the user."""
    lines = []
    data_keys = {str(Path(study.data_file(k)).parent): k for k in [*study.shards, *study.evals]}
    rebuild = set(missing_data(study))
    results = [p for p in damaged if study.results in Path(p).parents]
    for path in (p for p in damaged if p not in results):
        moved = store.quarantine(path)
        if path.name == store.ENTRY_FILES["runs"]:  # a job's record
            (study.results / "tables" / "runs.csv").unlink(missing_ok=True)
            lines.append(f"{path} is damaged; moved to {moved.name}; its job runs again")
        else:
            rebuild.add(data_keys[str(path.parent)])
            lines.append(f"{path} is damaged; moved to {moved.name}; rebuilt now")
    for key in sorted(rebuild):
        out = study.data_file(key)
        if not any(str(p).startswith(str(Path(out).parent)) for p in damaged):
            lines.append(f"{out} is missing though trained jobs read it; rebuilt now")
        write_data(json.loads(study.data_spec(key)), out)
        _not_newer_than_readers(study, key)
    return lines + _rebuild_results(study, results)


def _rebuild_results(study: Study, damaged: list[Path]) -> list[str]:
    """Rebuild damaged tables and fits by their commands (tables first); one line for each."""
    commands: dict[tuple, list[tuple[Path, str | None]]] = {}
    for path in damaged:
        try:
            check = store.read_record(store.result_check(path))
            commands.setdefault(tuple(check["argv"]), []).append((path, check["sha256"]))
        except (OSError, KeyError, store.CorruptRecord):
            store.quarantine(store.result_check(path))
            commands.setdefault((), []).append((path, None))
    ages = {
        p: min(os.stat(p).st_mtime_ns, os.stat(store.result_check(p)).st_mtime_ns)
        for p in result_files(study)
        if p.exists()
    }
    lines = []
    order = {"labels": 0, "aggregate": 1}  # the tables first, then what reads them
    for argv, paths in sorted(commands.items(), key=lambda item: order.get(next(iter(item[0]), ""), 2)):
        for path, _ in paths:
            store.quarantine(path)
        ran = _rerun(study, list(argv), paths[0][0])
        for path, sha in paths:
            if ran and store.digest_file(path) != sha:  # the code or its inputs changed since: a new result
                ages.pop(path)
                lines.append(
                    f"{path} is damaged; moved to {path.name}.corrupt; rebuilt now, and it differs from before"
                )
            else:
                lines.append(
                    f"{path} is damaged; moved to {path.name}.corrupt; "
                    + ("rebuilt now" if ran else "its job runs again")
                )
    for path, age in ages.items():  # as old as before: nothing downstream looks out of date
        if path.exists() and store.result_check(path).exists():
            os.utime(path, ns=(age, age))
            os.utime(store.result_check(path), ns=(age, age))
    return lines


def _rerun(study: Study, argv: list[str], path: Path) -> bool:
    """Run a result's command again, as its rule did (the labels come from the study itself)."""
    if argv == store.LABELS:
        store.write_labels(path, study.labels)
        return True
    package = str(Path(__file__).parents[2])  # the folder that holds this package (scalinglaws/)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package, os.environ.get("PYTHONPATH", "")])}
    return (
        bool(argv)
        and subprocess.run([sys.executable, "-m", "scalinglaws", *argv], env=env, capture_output=True).returncode == 0
    )


def _not_newer_than_readers(study: Study, key: str) -> None:
    """Give a rewritten meta.json the age of the oldest record that read it: training reads it
    by mtime (not ancient(), see train.smk), and its content, hence identity, is unchanged."""
    readers = [study.job_file(k) for k, j in study.jobs.items() if key in (j.shard_key, j.eval_key)]
    stamps = [os.stat(f).st_mtime_ns for f in readers if os.path.exists(f)]
    if stamps:
        os.utime(store.meta_file(study.data_file(key)), ns=(min(stamps), min(stamps)))
