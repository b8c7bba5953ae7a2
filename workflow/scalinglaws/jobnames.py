"""What a user reads while a study runs: a name per job, and one line at the end.

A job's wildcard is its content key (a hash), which says nothing to a person; `describe` turns it
into what the job does ("train teacher/mlp size 32 on n=1024"). The Snakefile shows it as each
job's `message:` through `JobNames`, a lookup that Snakemake's formatter can reach: a message is
formatted with the workflow's globals and the job's wildcards, and `{JOB_NAMES:{wildcards.key}}`
hands the key to `JobNames.__format__`. Neither the name nor the message is part of a job's
identity (names are labels: renaming a dataset must rerun no job), so it reruns nothing.
"""

from __future__ import annotations

import os


def describe(study, key: str, prune_jobs: dict | None = None) -> str:
    """The job with content key `key` in words: its stage, dataset, family, size and shard."""
    if key in study.shards:
        shard = study.shards[key]
        return f"data: {shard.dataset} shard n={shard.n} (its first {shard.n} examples)"
    if key in study.evals:
        return f"data: {study.evals[key]} validation and test splits"
    job, verb = study.jobs.get(key), "train"
    if job is None and prune_jobs and key in prune_jobs:
        job, verb = prune_jobs[key], "prune"
    if job is None:
        return key  # not a job of this study: the key is all there is to say
    where = ", ".join(f"{d}/{f}" for d, f in study.labels.get(key, [[job.dataset, job.family]]))
    train = job.spec["train"]
    runs = f"{len(train['seeds'])} seeds x {len(train['learning_rates'])} lr"
    return f"{verb} {where} size {job.size} on n={job.n} ({runs}, key {key[:8]})"


class JobNames:
    """`message: "{JOB_NAMES:{wildcards.key}}"` prints `describe(study, key)`: the format spec
    of a replacement field is itself formatted first, so the key reaches `__format__`."""

    def __init__(self, study, prune_jobs: dict | None = None):
        self.study, self.prune_jobs = study, prune_jobs

    def __format__(self, key: str) -> str:
        return describe(self.study, key, self.prune_jobs)


def summary_line(results: str, targets=(), pruning: bool = False, failures=()) -> str:
    """The line a finished study ends with: where its figures, fits and report are (the report
    as a file when the run built it, one of `targets`, else the command that builds it); a study
    with laws that could not be fitted (`failures`, see not_fitted) is not "done"."""
    report = os.path.join(results, "report.html")
    how = f"report {report}" if report in map(str, targets) else f"report: snakemake --report {report}"
    prune = f", pruning {os.path.join(results, 'pruning')}/" if pruning else ""
    state = f"study incomplete ({len(failures)} fit(s) missing, below)" if failures else "study done"
    return (
        f"scalinglaws: {state}: figures {os.path.join(results, 'figures')}/, fits "
        f"{os.path.join(results, 'fits', 'fits.json')}, tables {os.path.join(results, 'tables')}/{prune}; {how}"
    )


def not_fitted(fits_path) -> list[str]:
    """'curve: law: why' for every configured law of the study's fits that could not be fitted
    ('curve: why' for a curve that could not be fitted at all): a study too small for its laws
    (one shard, as many parameters as points) must not end as "done" with exit status 0."""
    import json

    from .fit.curves import read_fits

    try:
        with open(fits_path) as f:
            curves = read_fits(json.load(f))
    except (OSError, ValueError):
        return []  # no fits to judge (the run's own check reports a missing result)
    out = []
    for key, curve in curves.items():
        if curve.error:
            out.append(f"{key}: {curve.error}")
        out += [f"{key}: {entry.name}: {entry.reason}" for entry in curve.not_fitted() if not entry.skipped]
    return out
