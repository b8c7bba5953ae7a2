"""Every default is stated once: the config schema states each key's default, and the code and
the command's options read it (configfile.schema_default). Where code cannot read it, these tests
hold the two equal: the trainer's TrainSpec (its code is in every run's identity, so it keeps its
own literals) and the fit stage's signatures."""

from __future__ import annotations

import dataclasses
import inspect

from scalinglaws.aggregate.selection import SIZE_TOLERANCE
from scalinglaws.cli import build_parser
from scalinglaws.configfile import schema, schema_default
from scalinglaws.fit.external import fit_table
from scalinglaws.fit.grid import EXTRAPOLATE
from scalinglaws.fit.pruning import fit_pruning
from scalinglaws.fit.study import StudyFit
from scalinglaws.train.spec import TrainSpec


def defaults(cls) -> dict:
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


def test_the_trainers_defaults_are_the_schemas():
    training = schema()["properties"]["training"]["properties"]
    spec = defaults(TrainSpec)
    stated = {key: prop["default"] for key, prop in training.items() if "default" in prop}
    assert len(stated) >= 10 and {key: spec[key] for key in stated} == stated
    unset = [key for key in training if key in spec and key not in stated]
    assert unset and all(spec[key] is None for key in unset)  # no default in either (e.g. ceiling_epochs)


def test_the_fit_stages_defaults_are_the_schemas():
    fit = {key: schema_default("fit", key) for key in ("target", "bootstrap", "seed", "size_tolerance", "fit_eps0")}
    study = defaults(StudyFit)
    assert [study[k] for k in ("target", "replicates", "seed", "tolerance", "fit_eps0")] == list(fit.values())
    assert SIZE_TOLERANCE == fit["size_tolerance"] and EXTRAPOLATE == schema_default("fit", "extrapolate")
    table = inspect.signature(fit_table).parameters
    assert (table["replicates"].default, table["seed"].default) == (fit["bootstrap"], fit["seed"])
    pruning = inspect.signature(fit_pruning).parameters
    assert [pruning[k].default for k in ("target", "replicates", "seed")] == [
        schema_default("pruning", key) for key in ("target", "bootstrap", "seed")
    ]


def test_the_commands_options_default_to_the_schema():
    parse = build_parser().parse_args
    aggregate = parse(["aggregate", "--out-dir", "o", "--labels", "l", "m.json"])
    assert aggregate.size_tolerance == schema_default("fit", "size_tolerance")
    report = parse(["prune-report", "--out-dir", "o", "m.json"])
    assert (report.target, report.bootstrap, report.seed) == tuple(
        schema_default("pruning", key) for key in ("target", "bootstrap", "seed")
    )
    plot = parse(["plot", "--tables", "t", "--fits", "f", "--out-dir", "o"])
    assert plot.extrapolate == schema_default("fit", "extrapolate")
    train = parse(["train", "--spec", "{}", "--shard", "s", "--eval", "e", "--out", "o"])
    assert (train.device, train.threads) == (schema_default("device"), schema_default("threads"))
