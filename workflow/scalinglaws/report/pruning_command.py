"""`scalinglaws prune-report`, the pruning_report rule's command: the pruning stage's tables,
fits and figures."""

from __future__ import annotations

from pathlib import Path

from .. import store
from ..fit.command import fit_options


def add_parser(sub) -> None:
    """Register `prune-report` on the CLI's subparsers."""
    s = sub.add_parser("prune-report", help="pruning tables, fits and figures from pruning metrics files")
    s.add_argument("--out-dir", required=True, help="folder for the pruning tables, fits and figures/")
    fit_options(s, target=True, section="pruning")
    s.add_argument("metrics", nargs="+", help="the pruning jobs' records (metrics.json)")
    s.set_defaults(func=cmd_prune_report)


def cmd_prune_report(args) -> None:
    """The pruning tables, fits (density and invariant laws, CIs, backtests) and figures."""
    from ..aggregate.pruning import curve_table, load_pruning_runs, select_lineages
    from ..fit.pruning import fit_pruning, fit_summary
    from ..report.pruning_figures import draw_pruning

    out = Path(args.out_dir)
    runs = load_pruning_runs(args.metrics)
    store.atomic_write_text(out / "pruning_runs.csv", runs.to_csv(index=False))
    curves = curve_table(select_lineages(runs), args.target)
    store.atomic_write_text(out / "pruning_curves.csv", curves.to_csv(index=False))
    fits = fit_pruning(runs, args.target, args.bootstrap, args.seed)
    store.atomic_write_json(out / "pruning_fits.json", fits)
    draw_pruning(curves, fits, out / "figures")
    print("\n".join(fit_summary(fits)))
