"""Planning from a fitted curve (`scalinglaws plan`): what a target error takes, what more data
buys, how to split a compute budget, and which shards and sizes to train next.

curve.py    a curve's laws (power + size, or a joint law) as bootstrap replicates
cost.py     FLOPs of a run under the study's protocol, the size knob, measured throughput
target.py   target_error, data_factor_table, budget_split
propose.py  propose_next: the next shards and sizes, by expected PI reduction per FLOP
overlay.py  the proposal as a config overlay, and the jobs its rerun runs
command.py  the subcommand
"""
from .cost import Knob, Protocol, Throughput
from .curve import Curve, PlanError, load_curve
from .propose import Grid, propose_next
from .target import Context, budget_split, data_factor_table, target_error

__all__ = ["Context", "Curve", "Grid", "Knob", "PlanError", "Protocol", "Throughput", "budget_split",
           "data_factor_table", "load_curve", "propose_next", "target_error"]  # fmt: skip
