"""`scalinglaws plan`'s options, kept apart from the planner so that the CLI starts fast."""

from __future__ import annotations

from ..fit import FACTORS  # the "what k x data buys" table's default factors


def add_parser(sub) -> None:
    """Register `plan` on the CLI's subparsers."""
    s = sub.add_parser(
        "plan",
        help="what a target error takes, what more data buys, and what to train next",
        epilog="exit status: 0 the plan is printed (a target already reached included); 2 a mistake (one line: "
        "a bad option, group or law, no fits or study config); 4 the target error is not reachable (below the "
        "irreducible error's 95%% CI)",
    )
    s.add_argument("fits", help="a study's results folder, a `scalinglaws fit` output folder, or a fits.json")
    s.add_argument(
        "--target-error",
        type=float,
        metavar="E",
        help="the data size, model size and compute that "
        "reach this error (in the fitted metric's units), with intervals",
    )
    s.add_argument(
        "--data-factor",
        metavar="K[,K...]",
        help="what K times the largest shard buys: the error with "
        f"its CI and PI, and the best size there (default when nothing else is asked: {FACTORS})",
    )
    s.add_argument(
        "--budget",
        type=float,
        metavar="FLOPS",
        help="the best split of one run's training compute between data and model size",
    )
    s.add_argument(
        "--next",
        action="store_true",
        help="propose the shards and sizes that narrow the prediction "
        "interval at the target most per FLOP, as a config overlay (needs --target-error or --data-factor)",
    )
    s.add_argument("--out", default="overlay.yaml", help="--next: where the overlay is written (default: overlay.yaml)")
    s.add_argument("--group", help="the curve, e.g. teacher/mlp (needed when the fits hold several)")
    s.add_argument(
        "--law",
        help="one law: a learning-curve law (power, envelope, m4, bnsl, ...; with the size law) or a joint law "
        "(joint, joint-additive); default: the learning-curve laws combined as predict combines them, else power",
    )
    s.add_argument(
        "--configfile",
        action="append",
        metavar="FILE",
        help="the study's config (repeatable, merged in "
        "order as Snakemake does); default: the config.yaml of the checkout that holds the results folder",
    )
    s.add_argument(
        "--epochs",
        type=float,
        default=1.0,
        help="without a study config: passes over the data a run makes, for its FLOPs (default 1)",
    )
    s.add_argument(
        "--round-factor",
        type=float,
        default=1.0,
        help="--next: a round costs at most this many times "
        "what the study has trained (default 1: at most doubling it)",
    )
    s.add_argument("--format", choices=["text", "json"], default="text", help="text (default) or JSON")
    s.set_defaults(func=run)


def run(args) -> int:
    """Import the planner only when `plan` runs: every other subcommand (a training job above all)
    starts without scipy and pandas."""
    from .command import run as run_plan

    return run_plan(args)
