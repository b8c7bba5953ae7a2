"""Planning from a fitted curve (`scalinglaws plan`): what a target error takes, what more data
buys, how to split a compute budget, and which shards and sizes to train next.

curve.py    a curve's laws (power + size, or a joint law) as bootstrap replicates
cost.py     FLOPs of a run under the study's protocol, the size knob, measured throughput
target.py   target_error, data_factor_table, budget_split
propose.py  propose_next: the next shards and sizes, by expected PI reduction per FLOP
overlay.py  the proposal as a config overlay, and the jobs its rerun runs (and those the store holds)
record.py   the config files a study's results were made with (results/<study>/configfiles.yaml)
options.py  the subcommand's options (light: the CLI imports it at start)
command.py  the subcommand
"""

from importlib import import_module

# The planner's API, imported on first use (PEP 562): the CLI imports this package for `plan`'s
# options at every start, training jobs included, and must not pay for scipy and pandas there.
_EXPORTS = {
    "Knob": "cost",
    "Protocol": "cost",
    "Throughput": "cost",
    "Curve": "curve",
    "PlanError": "curve",
    "load_curve": "curve",
    "Grid": "propose",
    "propose_next": "propose",
    "Context": "target",
    "budget_split": "target",
    "data_factor_table": "target",
    "target_error": "target",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
