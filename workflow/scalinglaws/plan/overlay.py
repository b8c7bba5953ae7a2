"""The proposal as a config overlay: `snakemake --configfile config.yaml overlay.yaml` trains
only what it adds.

Snakemake merges its configfiles in order, key by key for mappings, and replaces anything else
(a list) whole (`merge` does the same), so the overlay lists every shard and size of the curve,
old and new: `datasets.<dataset>.shards.sizes` (a dataset's own schedule, which replaces the
study-wide `shards` for it alone) and `models.<family>.sizes` (a family's sizes are shared by
every dataset). The merged config is validated and expanded into its jobs here, so the overlay
is known to be valid, and the jobs it adds are counted by their identities (study.py): the
rerun trains exactly those whose record is not in the store yet.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import yaml

from .. import store
from ..errors import ConfigError, UserError
from ..study import Study
from .curve import PlanError
from .propose import Grid

ONCE = ("labels", "aggregate", "fit", "figures", "all")  # rules a rerun with new jobs runs once each


def merge(base: dict, overlay: dict) -> dict:
    """base updated by overlay as Snakemake merges configfiles (mappings key by key)."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_config(paths: list[str]) -> dict:
    """The study's config from one or more files, merged in order (as `--configfile A B`)."""
    config: dict = {}
    for path in paths:
        try:
            part = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read config: {exc}") from None
        if not isinstance(part, dict):
            raise ConfigError(f"{path}: a config is a mapping of keys, not {type(part).__name__}")
        config = merge(config, part)
    return config


def curve_names(study: Study, group: str) -> tuple[str, str]:
    dataset, _, family = group.partition("/")
    if dataset not in study.datasets or family not in study.families:
        raise PlanError(
            f"group {group!r} is not a (dataset/family) curve of study {study.name!r} "
            f"(curves: {', '.join('/'.join(c) for c in study.curves())})"
        )
    return dataset, family


def study_grid(study: Study, group: str, stored=None) -> Grid:
    """The curve's shards, sizes, shard factor and pool size in this study (and `stored`: which
    of its jobs the store holds already, see Stored)."""
    dataset, family = curve_names(study, group)
    shards = study.shard_sizes_for(dataset)
    schedule = study.config["datasets"][dataset].get("shards", study.config["shards"])
    factor = float(schedule.get("factor", shards[-1] / shards[-2] if len(shards) > 1 else 2.0))
    sizes = sorted(int(s) for s in study.config["models"][family]["sizes"])
    return Grid(shards, sizes, factor, float(study.datasets[dataset].pool_size), stored)


def make_overlay(study: Study, group: str, shards: list[int], sizes: list[int]) -> dict:
    """The overlay that adds `shards` to the curve's dataset and `sizes` to its family."""
    dataset, family = curve_names(study, group)
    own = study.config["datasets"][dataset].get("shards")
    if own is not None and "sizes" not in own:
        raise PlanError(
            f"datasets.{dataset}.shards: a min/max schedule of the dataset's own cannot be extended by "
            "an overlay (Snakemake would merge the two); list its shard sizes there instead"
        )
    out: dict = {}
    if shards:
        every = sorted(set(study.shard_sizes_for(dataset)) | set(shards))
        out["datasets"] = {dataset: {"shards": {"sizes": every}}}
    if sizes:
        every = sorted(set(int(s) for s in study.config["models"][family]["sizes"]) | set(sizes))
        out["models"] = {family: {"sizes": every}}
    return out


def rerun(study: Study, overlay: dict, root: Path | None) -> tuple[Study, dict[str, int]]:
    """The study with the overlay, and the jobs per rule that `snakemake` then runs: every job
    and shard whose stored file is missing (under `root`, the study's working folder)."""
    try:
        after = Study(merge(study.config, overlay), source="the config with the overlay")
    except ConfigError as exc:
        raise PlanError(str(exc)) from None

    def missing(path: str) -> bool:
        return not os.path.exists(path if root is None or os.path.isabs(path) else root / path)

    counts = {
        "shard": sum(missing(after.shard_file(k)) for k in after.shards),
        "train": sum(missing(after.job_file(k)) for k in after.jobs),
    }
    if counts["train"] or counts["shard"]:
        counts.update({rule: 1 for rule in ONCE})
    return after, {k: v for k, v in counts.items() if v}


class Stored:
    """Which (size, shard) jobs of a curve, old or new, the store holds already (trained by this
    study or by another that shares the store), by their identities in the study extended to
    them: a round costs only the jobs that would run."""

    def __init__(self, study: Study, group: str, root: Path | None):
        self.study, self.group, self.root = study, group, root
        self.known: dict[tuple[int, int], bool] = {}

    def __call__(self, jobs) -> set[tuple[int, int]]:
        """The (size, shard) pairs of `jobs` whose record is in the store."""
        new = [job for job in jobs if job not in self.known]
        if new:
            self._look_up(sorted({n for _, n in new}), sorted({z for z, _ in new}))
        return {job for job in jobs if self.known.get(job)}

    def _look_up(self, shards: list[int], sizes: list[int]) -> None:
        try:
            after, _ = rerun(self.study, make_overlay(self.study, self.group, shards, sizes), self.root)
        except UserError:
            return  # a grid the config cannot express: nothing known, everything is counted
        names = list(curve_names(self.study, self.group))
        for key, job in after.jobs.items():
            if names in after.labels[key]:
                path = Path(after.job_file(key))
                self.known[(job.size, job.n)] = (
                    path if path.is_absolute() or self.root is None else self.root / path
                ).exists()


def write_overlay(path: Path | str, overlay: dict, comment: str) -> None:
    """The overlay as YAML, with `comment` on top, written atomically."""
    head = "".join(f"# {line}\n" for line in comment.splitlines())
    store.atomic_write_text(path, head + yaml.safe_dump(overlay, sort_keys=False))


def proposal_for(fits: dict, group: str, study: Study, runs, factor: float, root: Path | None = None) -> dict:
    """What `scalinglaws plan --data-factor K --next` proposes for one curve of a study, for its
    report (no overlay written; `root`: the folder snakemake runs in, whose store counts as
    trained); {'error': why} when no proposal can be made."""
    from .propose import propose_next
    from .target import Context

    try:
        ctx = Context.from_fits(fits, group, None, study, runs)
        grid = study_grid(study, group, Stored(study, group, root))
        return {**propose_next(ctx, grid, factor * ctx.curve.n_max), "factor": factor}
    except (UserError, KeyError, ValueError) as exc:
        return {"error": str(exc)}
