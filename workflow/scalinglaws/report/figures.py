"""Figures: learning curve with fit and CI band, error vs model size, best size vs data, and
one figure per fitted law (fit with its 95% band, backtest, compute-optimal allocation).

Fits are drawn past the data, to `extrapolate` x the largest n (10x by default): the 95%
confidence band of the mean curve, and the wider 95% prediction interval of one new run, both
recomputed from the bootstrap samples stored in fits.json (fit/predict.py).

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

from ..fit.curves import CurveFits, as_curve, as_curves, default_law_for  # noqa: E402
from ..fit.grid import EXTRAPOLATE  # noqa: E402
from ..fit.identify import exponent_words  # noqa: E402
from ..fit.laws import Role  # noqa: E402
from ..fit.mixture import Mixture, by_weight  # noqa: E402
from ..fit.predict import default_prediction  # noqa: E402
from ..fit.result import FitResult  # noqa: E402
from ..store import atomic_write_bytes  # noqa: E402
from .axes import (
    DATA_FACTORS,
    input_value,
    label_powers_of_two,
    metric_label,  # noqa: E402
    plain_log_labels,
)


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


def below(ax, fontsize: int = 7, y: float = -0.16) -> None:
    """The legend under the axes (its top `y` axes heights down, below the axis label): inside,
    its many entries hid the points they describe."""
    ax.legend(fontsize=fontsize, loc="upper center", bbox_to_anchor=(0.5, y), frameon=False)


def draw_intervals(ax, line: dict, color, label: str, legend_bands: bool = True) -> None:
    """A fitted curve (dashed beyond the data), its 95% CI band and its 95% prediction interval;
    `line` holds x, fit, lo, hi, pi_lo, pi_hi (None where absent) and data_max."""
    x, fit = np.asarray(line["x"]), np.asarray(line["fit"])
    inside = x <= line.get("data_max", x.max()) * (1 + 1e-9)
    ax.plot(x[inside], fit[inside], color=color, label=label)
    ax.plot(x[~inside], fit[~inside], color=color, ls="--")
    if line.get("lo") is not None:
        ax.fill_between(
            x,
            line["lo"],
            line["hi"],
            color=color,
            alpha=0.25,
            label="95% CI of the mean curve" if legend_bands else None,
        )
    if line.get("pi_lo") is not None:
        ax.fill_between(
            x,
            line["pi_lo"],
            line["pi_hi"],
            color=color,
            alpha=0.08,
            label="95% prediction interval, new run" if legend_bands else None,
        )


CURVE_LAW, SIZE_LAW = default_law_for(Role.CURVE), default_law_for(Role.SIZE)  # what the figures describe
LAW_MARKERS = ("v", "^", "<", ">", "s", "p")  # each combined law's own predictions
TOO_SMALL = 0.01  # a gamma below 1% of the smallest error is named in the legend, not drawn


def draw_gamma(ax, result: FitResult) -> None:
    """The irreducible error gamma as a line labelled with its value (and CI), in the legend and
    on the line itself."""
    gamma = result.params.get("gamma")
    if not gamma or not gamma.value > 0:
        return
    ci = gamma.ci95
    ci_txt = f", 95% CI {ci[0]:.2g} to {ci[1]:.2g}" if ci else ""
    if gamma.value < TOO_SMALL * result.y.min():  # a line there would squash the data
        label = f"gamma = {gamma.value:.2g} (irreducible{ci_txt}; not drawn)"
        ax.plot([], [], color="grey", ls=":", lw=1, label=label)
        return
    ax.axhline(gamma.value, color="grey", ls=":", lw=1, label=f"gamma = {gamma.value:.3g} (irreducible{ci_txt})")
    ax.text(
        0.01,
        gamma.value,
        f"gamma = {gamma.value:.3g}",
        transform=ax.get_yaxis_transform(),
        ha="left",
        va="bottom",
        fontsize=7,
        color="dimgrey",
    )


def draw_small_data(ax, result: FitResult) -> None:
    """The small-data region's span, left out of the fit (Hestness et al.'s first region)."""
    regions = result.regions
    if regions.get("small_data_n"):
        ax.axvspan(
            min(regions["small_data_n"]) / 1.2,
            regions["power_law_start"] / 1.1,
            color="grey",
            alpha=0.15,
            label="small-data region (not fitted)",
        )


def draw_factors(ax, fit: CurveFits, result: FitResult, extrapolate: float) -> None:
    """The default prediction at k x the largest shard (the summary's table, within the
    extrapolation limit), with its 95% prediction interval: where the curve is read off. Where
    the curve's laws are combined, the combined prediction, and beside it each law's own, its
    stacking weight in the legend."""
    combined = default_prediction(fit, 1)
    result = combined or result
    if not result.can_predict():
        return
    factors = [k for k in DATA_FACTORS if k <= extrapolate]
    x = np.array(factors, float) * result.data_max
    iv = result.predict(x[:, None])
    pred = iv["prediction"]
    yerr = None if iv["pi_low"] is None else [pred - iv["pi_low"], iv["pi_high"] - pred]
    which = "combined prediction" if isinstance(combined, Mixture) else "predicted"
    ax.errorbar(
        x,
        pred,
        yerr=yerr,
        fmt="D",
        ms=4,
        mfc="white",
        color="C1",
        capsize=2,
        elinewidth=0.8,
        label=f"{which} at {', '.join(f'{k}x' for k in factors)} the data (95% PI)",
    )
    combo = fit.combination(1) if isinstance(combined, Mixture) else None
    for i, (name, w) in enumerate(by_weight(combo["weights"]) if combo else []):
        own = fit.get(name).predict(x[:, None])["prediction"]
        ax.plot(
            x, own, LAW_MARKERS[i % len(LAW_MARKERS)], ms=4, color=f"C{2 + i}", label=f"{name} alone (weight {w:.2f})"
        )


def learning_curve_figure(curve: pd.DataFrame, fit: CurveFits, title: str, extrapolate: float = EXTRAPOLATE):
    fit = as_curve(fit)
    metric = curve["metric"].iloc[0] if len(curve) else "mse"
    target = fit.target
    power = fit.get(CURVE_LAW)
    start = power.fit_start if power else None
    left_out = curve["n"] < start if start else np.zeros(len(curve), bool)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    styles = (
        (False, {"color": "C0", "label": "best over sizes and lrs (mean ± std over seeds)"}),
        (True, {"mfc": "none", "color": "grey", "label": "left out of the fit (small data)"}),
    )
    for out, style in styles:
        c = curve[left_out == out]
        if len(c):
            ax.errorbar(c["n"], c[f"{target}_mean"], yerr=c[f"{target}_std"], fmt="o", capsize=3, **style)
    limited = curve[curve["limited_by"].fillna("none") != "none"] if "limited_by" in curve else curve.iloc[:0]
    if len(limited):
        ax.plot(
            limited["n"],
            limited[f"{target}_mean"],
            "s",
            ms=11,
            mfc="none",
            mec="C3",
            mew=1.5,
            label="limited by the protocol (limited_by), not the data",
        )
    if power:
        band = power.redraw(extrapolate, start)
        p = {k: v.value for k, v in power.params.items()}
        ci = power.ci("beta")
        ci_txt = f" (beta 95% CI {ci[0]:.2f} to {ci[1]:.2f})" if ci else ""
        draw_intervals(ax, band, "C1", f"fit: {p['alpha']:.3g} n^{p['beta']:.2f} + {p['gamma']:.3g}{ci_txt}")
        draw_gamma(ax, power)
        draw_small_data(ax, power)
    if power or fit.combination(1):
        draw_factors(ax, fit, power, extrapolate)
    ax.set(xscale="log", yscale="log", xlabel="training examples n", ylabel=metric_label(metric, target), title=title)
    label_powers_of_two(ax, curve["n"])
    plain_log_labels(ax)
    below(ax)
    return fig


def size_figure(sizes: pd.DataFrame, title: str, metric: str = "mse"):
    fig, ax = plt.subplots(figsize=(5.5, 4))
    shards = sorted(sizes["n"].unique())
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(shards)))
    for color, n in zip(colors, shards):
        s = sizes[sizes["n"] == n].sort_values("params")
        ax.errorbar(
            s["params"],
            s["test_mean"],
            yerr=s["test_std"].fillna(0),
            marker="o",
            color=color,
            capsize=2,
            label=input_value("n", n),
        )
    ax.set(xscale="log", yscale="log", xlabel="model size m (parameters)", ylabel=metric_label(metric), title=title)
    plain_log_labels(ax)
    # under the axes: inside, it covered the smallest shard's line (the highest one)
    ax.legend(
        fontsize=7,
        ncol=2,
        title="training set size",
        title_fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        frameon=False,
    )
    return fig


def best_size_figure(curve: pd.DataFrame, fit: CurveFits, title: str, extrapolate: float = EXTRAPOLATE):
    fit = as_curve(fit)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(curve["n"], curve["params"], "x", color="grey", label="winning size (lowest val metric)")
    ax.plot(curve["n"], curve["best_params"], "o", label="best size (smallest within tolerance)")
    size = fit.get(SIZE_LAW)
    if size:
        band = size.redraw(extrapolate)
        p = size.params["beta_p"]
        ci = f" [{p.ci95[0]:.2f}, {p.ci95[1]:.2f}]" if p.ci95 else ""
        words = "not measured" if size.unresolved() else exponent_words(p.value, p.ci95)
        draw_intervals(ax, band, "C1", f"s(n) ~ n^{p.value:.2f}{ci}: {words}")
    ax.set(xscale="log", yscale="log", xlabel="training examples n", ylabel="parameters of the best model", title=title)
    label_powers_of_two(ax, curve["n"])
    plain_log_labels(ax)
    below(ax)
    return fig


def draw_all(
    curve: pd.DataFrame, sizes: pd.DataFrame, fits: dict, out_dir: Path | str, extrapolate: float = EXTRAPOLATE
) -> list[Path]:
    """All figures for every (dataset, family); files are named <dataset>.<family>.<figure>."""
    from .law_figures import law_figure  # it draws with this module's helpers

    out_dir = Path(out_dir)
    written = []
    for key, fit in as_curves(fits).items():
        dataset, family = key.split("/")
        c = curve[(curve["dataset"] == dataset) & (curve["family"] == family)]
        s = sizes[(sizes["dataset"] == dataset) & (sizes["family"] == family)]
        stem = out_dir / f"{dataset}.{family}"
        title = f"{dataset} / {family}"
        written += save(learning_curve_figure(c, fit, title, extrapolate), f"{stem}.learning_curve")
        written += save(size_figure(s, title, c["metric"].iloc[0] if len(c) else "mse"), f"{stem}.error_vs_size")
        written += save(best_size_figure(c, fit, title, extrapolate), f"{stem}.best_size")
        metric = metric_label(c["metric"].iloc[0], fit.target) if len(c) else "metric"
        for name, entry in fit.laws.items():
            y_label = metric if name != SIZE_LAW else "parameters of the best model"
            fig = law_figure([("", entry)], f"{title}: {name}", None, y_label, extrapolate)
            written += save(fig, f"{stem}.law_{name}")
    return written
