"""A study: the validated config expanded into shards and ensemble jobs with their identities.

Both the Snakefile and the CLI build a Study from the config, so the DAG and the store agree on
every identity. Building one is cheap (no data is generated): identities are hashes of specs.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from . import identity, store
from .configfile import SCHEMA_PATH as SCHEMA_PATH  # where the schema is (tests read it from here)
from .configfile import load_config_file
from .configfile import schema as config_schema
from .datasets import DataError, make_dataset
from .datasets import code_version as data_code_version
from .datasets.shards import shard_sizes
from .errors import ConfigError
from .models import ModelError, UserFamily, family
from .train.spec import TrainSpec

# The modules whose code determines a training job's numbers (checkpoints, GPU slots, timing do not);
# their normalised code (identity.py) enters every job's identity.
TRAINER_CODE = (
    "train/trainer.py",
    "train/ensemble.py",
    "train/metrics.py",
    "train/spec.py",
    "train/fast.py",
    "train/schedule.py",
    "train/tuning.py",
    "models/base.py",
)
PRUNE_CODE = ("train/imp.py",)


def _fill_defaults(config: dict, schema: dict) -> None:
    for key, sub in schema.get("properties", {}).items():
        if "default" in sub and key not in config:
            config[key] = copy.deepcopy(sub["default"])
        if isinstance(config.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(config[key], sub)


def validate_config(config: dict, source: str = "config") -> dict:
    """Check `config` against the JSON schema; return a copy with defaults filled in. An unknown
    key is named as such, with the key it may be a typo of: the schema's own message for a
    top-level typo ('shard:') was that 'shards' is missing."""
    schema = config_schema()
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.path))
    unknown = [message for e in errors if (message := unknown_key(e))]
    if unknown:
        raise ConfigError(f"{source}: {unknown[0]}")
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(f"{source}: invalid value at '{where}': {err.message}")
    config = copy.deepcopy(config)
    _fill_defaults(config, schema)
    return config


def unknown_key(error) -> str | None:
    """ "unknown key 'training.batch_sise' (did you mean 'batch_size'?)" for a schema error about
    a key its mapping does not allow, else None."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return None
    known = list(error.schema.get("properties", {}))
    extra = [k for k in error.instance if k not in known]
    if not extra or not known:
        return None
    key = ".".join([*map(str, error.absolute_path), str(extra[0])])
    close = difflib.get_close_matches(str(extra[0]), known, n=1)
    return f"unknown key '{key}'" + (f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(known)})")


@dataclass(frozen=True)
class ShardSpec:
    key: str
    dataset: str
    n: int


@dataclass(frozen=True)
class JobSpec:
    """One ensemble job: all (seed, lr) runs of one (dataset, family, size, shard); or one
    pruning job of such a point (its spec then has a `prune` section)."""

    key: str
    dataset: str
    family: str
    size: int
    n: int
    shard_key: str
    eval_key: str
    spec: dict  # everything the trainer needs, JSON-serialisable; its hash is `key`


class Study:
    def __init__(self, config: dict, source: str = "config"):
        self.config = validate_config(config, source)
        self.source = source  # the config file(s), named by every mistake found in them
        c = self.config
        self.name = c["study"]
        self.store = store.store_root(c.get("store"))
        self._store = str(self.store)
        self.results = Path("results") / self.name
        try:
            self.datasets = {name: make_dataset(name, opts, c["seed"]) for name, opts in c["datasets"].items()}
            self.families = {name: family(name, opts) for name, opts in c["models"].items()}
            self._check_user_models()
        except (DataError, ModelError) as exc:
            raise ConfigError(f"{source}: {exc}") from None
        self.train_spec = self._train_spec()
        # the device and precision in effect, and torch's version: a run's numbers depend on them
        self.numerics, self.train_spec.precision = identity.numerics(c["device"], self.train_spec.precision)
        self.config_hash = store.digest(self.config, length=12)
        self.labels: dict[str, list[list[str]]] = {}  # job key -> its [dataset, family] names
        self.shards: dict[str, ShardSpec] = {}
        self.evals: dict[str, str] = {}  # eval key -> dataset name
        self.jobs: dict[str, JobSpec] = {}
        self._expand()

    @classmethod
    def from_file(cls, path: str | Path) -> "Study":
        return cls(load_config_file(path), source=str(path))

    def _check_user_models(self) -> None:
        """A user's model is built and run on every dataset's shapes before any job trains."""
        for fname, fam in self.families.items():
            if isinstance(fam, UserFamily):
                given = self.config["models"][fname]
                options = {k: v for k, v in given.items() if k not in ("sizes", "type")}
                for ds in self.datasets.values():
                    fam.check(f"models.{fname}.type", given["sizes"], ds, options)

    def _train_spec(self) -> TrainSpec:
        t = dict(self.config["training"])
        seeds = t.pop("seeds")
        t["seeds"] = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
        t["learning_rates"] = [float(lr) for lr in t["learning_rates"]]
        for key in (
            "epochs",
            "weight_decay",
            "warmup",
            "ceiling_epochs",
            "lr_factor",
            "cooldown",
            "patience_epochs",
        ):  # 0 and 0.0 must hash alike
            if t.get(key) is not None:
                t[key] = float(t[key])
        if "lr_bounds" in t:
            t["lr_bounds"] = [float(b) for b in t["lr_bounds"]]
        return TrainSpec(**t)

    def shard_sizes_for(self, dataset: str) -> list[int]:
        opts = self.config["datasets"][dataset]
        field = f"datasets.{dataset}.shards" if "shards" in opts else "shards"
        try:
            sizes = shard_sizes(opts.get("shards", self.config["shards"]), field)
            for n in sizes:
                self.datasets[dataset].check_shard(n, field)
        except (ConfigError, DataError) as exc:
            raise ConfigError(f"{self.source}: {exc}") from None
        return sizes

    def _families(self) -> list[tuple[str, str, dict, str]]:
        """(name, type, options with defaults, trainer code version) for every model family."""
        out = []
        for fname, fam in self.families.items():
            given = self.config["models"][fname]
            kind = given.get("type", fname)
            options = {**fam.defaults, **{k: v for k, v in given.items() if k not in ("sizes", "type")}}
            out.append((fname, kind, options, identity.code_version(*TRAINER_CODE, *fam.sources)))
        return out

    def _expand(self) -> None:
        """Fill shards, evals and jobs; each key is a digest of everything its numbers depend on,
        and of nothing else: the names of datasets and families are labels (self.labels), so
        renaming one in the config retrains nothing."""
        train_spec = self.train_spec.identity()
        families = self._families()
        for dname, ds in self.datasets.items():
            data_code = data_code_version(ds)  # the source of every class the dataset is built from
            eval_key = store.digest({"eval": ds.eval_identity(), "code": data_code})
            self.evals[eval_key] = dname
            for n in self.shard_sizes_for(dname):
                shard_key = store.digest({"shard": ds.shard_identity(n), "code": data_code})
                self.shards[shard_key] = ShardSpec(shard_key, dname, n)
                for fname, kind, model_opts, trainer_code in families:
                    for size in self.config["models"][fname]["sizes"]:
                        spec = {
                            "task": ds.task,
                            "metric": ds.metric,
                            "num_outputs": ds.num_outputs,
                            "n": n,
                            "shard_key": shard_key,
                            "eval_key": eval_key,
                            "family_type": kind,
                            "size": int(size),
                            "model_options": model_opts,
                            "train": train_spec,
                            "trainer_code": trainer_code,
                            "numerics": self.numerics,
                        }
                        key = store.digest(spec)
                        self.labels.setdefault(key, []).append([dname, fname])
                        self.jobs[key] = JobSpec(key, dname, fname, int(size), n, shard_key, eval_key, spec)

    def pruning_jobs(self) -> dict[str, JobSpec]:
        """The pruning jobs of the config's `pruning` section ({} without one); every point must be
        a trained point of the study (its dataset, family, size and shard size)."""
        cfg = self.config.get("pruning")
        if not cfg:
            return {}
        every = self.train_spec.eval_every
        if cfg["rewind_step"] % every:
            raise ConfigError(
                f"pruning.rewind_step: {cfg['rewind_step']} is not a multiple of training.eval_every ({every})"
            )
        settings = {k: cfg[k] for k in ("fraction", "rewind_step", "iterations")}
        settings["fraction"] = float(settings["fraction"])
        trained = {(d, f, j.size, j.n): j for key, j in self.jobs.items() for d, f in self.labels[key]}
        code = identity.code_version(*PRUNE_CODE)
        jobs = {}
        for i, point in enumerate(cfg["points"]):
            for size in point["sizes"]:
                where = (point["dataset"], point["family"], int(size), int(point["n"]))
                if where not in trained:
                    raise ConfigError(
                        f"pruning.points[{i}]: (dataset {where[0]}, family {where[1]}, size {where[2]}, "
                        f"n {where[3]}) is not a trained point of the study"
                    )
                if isinstance(self.families[where[1]], UserFamily):
                    raise ConfigError(
                        f"pruning.points[{i}]: family {where[1]} is a user's model; pruning masks the built-in "
                        "families' stacked linear layers only"
                    )
                job = trained[where]
                labels = {"dataset": where[0], "family": where[1]}  # pruning's tables read them from the record
                spec = {**job.spec, **labels, "prune": settings, "prune_code": code}
                key = store.digest(spec)
                jobs[key] = JobSpec(key, where[0], where[1], job.size, job.n, job.shard_key, job.eval_key, spec)
        return jobs

    def data_spec(self, key: str) -> str:
        """JSON that the `data` command needs to rebuild shard `key` or eval splits `key`: no
        name, which is a label (a renamed dataset must not rebuild its data)."""
        if key in self.shards:
            name, n = self.shards[key].dataset, self.shards[key].n
        else:
            name, n = self.evals[key], None
        ds = self.datasets[name]
        return store.canonical_json(
            {
                "type": self.config["datasets"][name].get("type", name),
                "options": ds.rebuild_options(n),
                "seed": ds.seed,
                "n": n,
            }
        )

    def data_file(self, key: str) -> str:
        return self.shard_file(key) if key in self.shards else self.eval_file(key)

    # -- paths (the store's layout is store.entry_file's) ------------------------------------
    def shard_file(self, key: str) -> str:
        return store.entry_file(self._store, "shards", key)

    def eval_file(self, key: str) -> str:
        return store.entry_file(self._store, "eval", key)

    def job_file(self, key: str) -> str:
        return store.entry_file(self._store, "runs", key)

    def prune_file(self, key: str) -> str:
        return store.entry_file(self._store, "prune", key)

    def curves(self) -> list[tuple[str, str]]:
        """(dataset, family) pairs: one learning curve, one set of fits and figures each."""
        return [(d, f) for d in self.datasets for f in self.families]
