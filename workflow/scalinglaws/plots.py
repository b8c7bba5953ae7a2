"""Figures: learning curve with fit and CI band, error vs model size, best size vs data.

Each figure is written as PNG and PDF from the tables and the fit JSON alone, so figures can
be redrawn (or drawn for an external table) without touching training.
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .store import atomic_write_bytes  # noqa: E402

METRIC_LABEL = {"mse": "test MSE", "rmse": "test RMSE", "error": "test error rate", "bpb": "test loss (bits per byte)"}


def save(fig, stem: Path | str) -> list[Path]:
    """Write `stem`.png and `stem`.pdf atomically; return both paths."""
    paths = []
    for ext in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=150, bbox_inches="tight")
        path = Path(f"{stem}.{ext}")
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


def learning_curve_figure(curve: pd.DataFrame, fit: dict, title: str):
    metric = curve["metric"].iloc[0] if len(curve) else "mse"
    target = fit.get("target", "test_metric").split("_")[0]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.errorbar(curve["n"], curve[f"{target}_mean"], yerr=curve[f"{target}_std"], fmt="o", capsize=3,
                color="C0", label=f"best over sizes and lrs (mean ± std over seeds)")  # fmt: skip
    power = fit.get("power", {})
    if "band" in power:
        band = power["band"]
        p = {k: v["value"] for k, v in power["params"].items()}
        ci = power["params"]["beta"]["ci95"]
        ci_txt = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        ax.plot(band["x"], band["fit"], color="C1",
                label=f"{p['alpha']:.3g} n^{p['beta']:.3f}{ci_txt} + {p['gamma']:.3g}")  # fmt: skip
        if band["lo"] is not None:
            ax.fill_between(band["x"], band["lo"], band["hi"], color="C1", alpha=0.25, label="95% CI (bootstrap)")
        if p["gamma"] > 0:
            ax.axhline(p["gamma"], color="grey", ls="--", lw=1, label="gamma (irreducible)")
    ax.set(xscale="log", yscale="log", xlabel="training examples n",
           ylabel=METRIC_LABEL.get(metric, metric).replace("test", target), title=title)  # fmt: skip
    ax.legend(fontsize=7)
    return fig


def size_figure(sizes: pd.DataFrame, title: str):
    fig, ax = plt.subplots(figsize=(5.5, 4))
    shards = sorted(sizes["n"].unique())
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(shards)))
    for color, n in zip(colors, shards):
        s = sizes[sizes["n"] == n].sort_values("params")
        ax.errorbar(s["params"], s["test_mean"], yerr=s["test_std"].fillna(0), marker="o", color=color,
                    capsize=2, label=f"n={n}")  # fmt: skip
    ax.set(xscale="log", yscale="log", xlabel="parameters", ylabel="test metric (best lr, mean over seeds)", title=title)
    ax.legend(fontsize=7, ncol=2)
    return fig


def best_size_figure(curve: pd.DataFrame, fit: dict, title: str):
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(curve["n"], curve["params"], "x", color="grey", label="winning size (lowest val metric)")
    ax.plot(curve["n"], curve["best_params"], "o", label="best size (smallest within tolerance)")
    size = fit.get("size", {})
    if "band" in size:
        band = size["band"]
        p = size["params"]["beta_p"]
        ci = f" [{p['ci95'][0]:.2f}, {p['ci95'][1]:.2f}]" if p["ci95"] else ""
        ax.plot(band["x"], band["fit"], color="C1", label=f"s(n) ~ n^{p['value']:.2f}{ci}")
        if band["lo"] is not None:
            ax.fill_between(band["x"], band["lo"], band["hi"], color="C1", alpha=0.25, label="95% CI (bootstrap)")
    ax.set(xscale="log", yscale="log", xlabel="training examples n", ylabel="parameters of the best model", title=title)
    ax.legend(fontsize=7)
    return fig


def draw_all(curve: pd.DataFrame, sizes: pd.DataFrame, fits: dict, out_dir: Path | str) -> list[Path]:
    """All figures for every (dataset, family); files are named <dataset>.<family>.<figure>."""
    out_dir = Path(out_dir)
    written = []
    for key, fit in fits.items():
        dataset, family = key.split("/")
        c = curve[(curve["dataset"] == dataset) & (curve["family"] == family)]
        s = sizes[(sizes["dataset"] == dataset) & (sizes["family"] == family)]
        stem = out_dir / f"{dataset}.{family}"
        title = f"{dataset} / {family}"
        written += save(learning_curve_figure(c, fit, title), f"{stem}.learning_curve")
        written += save(size_figure(s, title), f"{stem}.error_vs_size")
        written += save(best_size_figure(c, fit, title), f"{stem}.best_size")
    return written
