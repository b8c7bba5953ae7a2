"""Pruning figures: error vs density (one curve per width, each with its density-law fit and
band) and the collapse of all curves onto the invariant m* = l^phi w^psi d of the joint fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..fit.laws import InvariantPruningLaw
from .axes import metric_label
from .figures import plt, save


def density_figure(curves: pd.DataFrame, entry: dict, title: str):
    fig, ax = plt.subplots(figsize=(5.5, 4))
    keys = sorted(
        entry["curves"],
        key=lambda k: (entry["curves"][k]["depth"], entry["curves"][k]["size"]),
    )
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(len(keys), 1)))
    for i, (color, key) in enumerate(zip(colors, keys)):
        e = entry["curves"][key]
        c = curves[(curves["family"] == e["family"]) & (curves["size"] == e["size"])].sort_values("density")
        label = f"w={e['size']}, l={e['depth']}"
        ax.errorbar(
            c["density"],
            c["mean"],
            yerr=c["std"].fillna(0),
            fmt="o",
            ms=3,
            capsize=2,
            color=color,
        )
        if "band" in e:
            gamma = e["params"]["gamma"]["value"]
            ax.plot(
                e["band"]["x"],
                e["band"]["fit"],
                color=color,
                label=f"{label}: gamma={gamma:.2f}",
            )
            if e["band"]["lo"] is not None:
                ax.fill_between(
                    e["band"]["x"],
                    e["band"]["lo"],
                    e["band"]["hi"],
                    color=color,
                    alpha=0.2,
                    label="95% CI of the mean curve" if i == 0 else None,
                )
    metric = curves["metric"].iloc[0] if "metric" in curves else "mse"
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="density d (fraction of weights kept)",
        ylabel=metric_label(metric, entry["target"].split("_")[0]),
        title=title,
    )
    ax.invert_xaxis()
    ax.legend(fontsize=7)
    return fig


def collapse_figure(curves: pd.DataFrame, entry: dict, title: str):
    """Every point at its invariant m*; the law drawn for each width's eps_np. Where the
    invariant holds, the power-law region and the high-error plateau fall on one curve."""
    inv = entry["invariant"]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    if "params" not in inv:
        ax.set_title(f"{title}: invariant not fitted ({inv.get('error')})", fontsize=8)
        return fig
    p = {k: v["value"] for k, v in inv["params"].items()}
    law, flat = InvariantPruningLaw(), InvariantPruningLaw()  # flat: drawn against m* itself (phi = psi = 0)
    law.params_, flat.params_ = p, {**p, "phi": 0.0, "psi": 0.0}
    groups = sorted(curves.groupby(["depth", "size"]), key=lambda kv: kv[0])
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(len(groups), 1)))
    for color, ((depth, size), c) in zip(colors, groups):
        eps_np = float(c.loc[c["iteration"] == 0, "mean"].iloc[0])
        x = np.column_stack(
            [
                c["density"],
                np.full(len(c), size),
                np.full(len(c), depth),
                np.full(len(c), eps_np),
            ]
        )
        m = law.invariant(x.astype(float), p)
        ax.plot(m, c["mean"], "o", ms=3, color=color, label=f"w={size}, l={depth}")
        grid = np.geomspace(m.min(), m.max(), 60)
        gx = np.column_stack([grid, np.ones_like(grid), np.ones_like(grid), np.full_like(grid, eps_np)])
        ax.plot(grid, flat.predict(gx), color=color, lw=1)
    phi = "" if inv["params"]["phi"]["fixed"] else f"l^{p['phi']:.2f} "
    metric = curves["metric"].iloc[0] if "metric" in curves else "mse"
    ax.set(
        xscale="log",
        yscale="log",
        xlabel=f"invariant m* = {phi}w^{p['psi']:.2f} d",
        ylabel=metric_label(metric, entry["target"].split("_")[0]),
        title=f"{title}: gamma={p['gamma']:.2f}, p={p['p']:.3g}, eps_up={p['eps_up']:.3g}",
    )
    ax.title.set_fontsize(8)
    ax.invert_xaxis()
    ax.legend(fontsize=7)
    return fig


def draw_pruning(curves: pd.DataFrame, fits: dict, out_dir) -> list[Path]:
    """<dataset>.n<n>.pruning_density and .pruning_collapse, PNG and PDF, for every fit entry."""
    out_dir, paths = Path(out_dir), []
    for key, entry in fits.items():
        c = curves[(curves["dataset"] == entry["dataset"]) & (curves["n"] == entry["n"])]
        stem = out_dir / f"{entry['dataset']}.n{entry['n']}"
        paths += save(density_figure(c, entry, key), f"{stem}.pruning_density")
        paths += save(collapse_figure(c, entry, key), f"{stem}.pruning_collapse")
    return paths
