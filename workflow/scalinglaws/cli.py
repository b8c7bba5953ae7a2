"""The `scalinglaws` command: one subcommand per workflow stage, plus store maintenance.

Snakemake rules call these; each is also usable by hand. Heavy imports (torch) happen only in
the subcommands that train.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .aggregate import command as aggregate
from .errors import Preempted, UserError
from .fit import command as fit
from .plan import options as plan
from .report import command as report
from .report import pruning_command as pruning_report
from .store import command as store
from .store import data
from .train import command as train

# Each stage's command module registers its subcommands (`add_parser(sub)`, which sets `func`),
# in the order `scalinglaws --help` lists them. A module imports its stage's code only when its
# command runs, so that every command starts fast.
STAGES = (data, train, pruning_report, aggregate, fit, plan, report, store)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scalinglaws", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}", help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True)
    for stage in STAGES:
        stage.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        # Ctrl-C reaches every job of a study's process group: one line each, not a traceback.
        print(f"scalinglaws {args.command}: interrupted", file=sys.stderr)
        return 130  # the conventional status of a process ended by SIGINT
    except Preempted as exc:
        print(f"scalinglaws {args.command}: {exc}", file=sys.stderr)
        return 143  # the conventional status of a SIGTERM'd process: the job did not finish
    except (UserError, OSError) as exc:
        # Expected failures (bad input, missing files) get one clear line, not a traceback.
        print(f"scalinglaws {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return code or 0  # a command may report partial failure (fit: 3)


if __name__ == "__main__":
    sys.exit(main())
