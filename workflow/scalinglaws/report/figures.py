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
import warnings
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
from ..fit.result import FitResult, NotFitted, as_result  # noqa: E402
from ..store import atomic_write_bytes  # noqa: E402
from .axes import (
    DATA_FACTORS,
    INPUT_LABEL,
    input_value,
    label_powers_of_two,
    metric_label,  # noqa: E402
    number,
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


def draw_factors(ax, result: FitResult, extrapolate: float) -> None:
    """The predictions at k x the largest shard (the summary's table, within the extrapolation
    limit), with their 95% prediction intervals: where the curve is read off."""
    if not result.can_predict():
        return
    factors = [k for k in DATA_FACTORS if k <= extrapolate]
    x = np.array(factors, float) * result.data_max
    iv = result.predict(x[:, None])
    pred = iv["prediction"]
    yerr = None if iv["pi_low"] is None else [pred - iv["pi_low"], iv["pi_high"] - pred]
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
        label=f"predicted at {', '.join(f'{k}x' for k in factors)} the data (95% PI)",
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
        draw_factors(ax, power, extrapolate)
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


def _fit_panel(ax, result: FitResult, label: str, color, x_labels, y_label: str, extrapolate: float) -> None:
    start = result.fit_start
    plot = result.redraw(extrapolate, start)
    x, y, held = result.x, result.y, result.held_out
    tag = f"{label}: " if label else ""
    if plot["kind"] == "parity":
        _parity(ax, plot, x, y, held, (tag, color, y_label))
        return
    axis = result.inputs.index(plot["line_input"]) ^ 1 if plot["kind"] == "lines" else 0
    grid = np.asarray(plot["x"])
    keys = ("fit", "lo", "hi", "pi_lo", "pi_hi")
    if plot["kind"] == "curve":
        lines = [(None, {k: plot.get(k) for k in keys})]
    else:  # several lines: their prediction intervals would hide one another
        lines = [
            (v, {k: plot[k][i] if plot.get(k) and not k.startswith("pi") else None for k in keys})
            for i, v in enumerate(plot["line_values"])
        ]
    shades = plt.cm.viridis(np.linspace(0, 0.9, len(lines))) if len(lines) > 1 else [color]
    left_out = x[:, axis] < start if start else np.zeros(len(y), bool)
    for i, ((value, line), shade) in enumerate(zip(lines, shades)):
        on = np.ones(len(y), bool) if value is None else x[:, axis ^ 1] == value
        name = tag if value is None else f"{tag}{input_value(plot['line_input'], value)}: "
        fitted = on & ~held & ~left_out
        ax.plot(x[fitted, axis], y[fitted], "o", color=shade, ms=4, label="data" if i == 0 and not tag else None)
        ax.plot(x[on & held, axis], y[on & held], "s", mfc="none", color=shade)
        if (on & left_out).any():
            ax.plot(
                x[on & left_out, axis],
                y[on & left_out],
                "o",
                mfc="none",
                color="grey",
                ms=5,
                label="left out of the fit (small data)" if i == 0 else None,
            )
        line.update(x=grid, data_max=plot.get("data_max", grid.max()))
        draw_intervals(ax, line, shade, f"{name}fit", legend_bands=i == 0)
    if plot["kind"] == "curve":
        draw_gamma(ax, result)
    regions = result.regions
    if regions:
        draw_small_data(ax, result)
        end = regions["power_law_end"]
        if end is not None and end <= x[:, 0].max():
            ax.axvline(end, color="grey", ls="--", lw=1, label="irreducible region from here")
    names = result.inputs
    x_label = (x_labels or [INPUT_LABEL.get(v, v) for v in names])[axis]
    ax.set(xscale="log", yscale="log", xlabel=x_label, ylabel=y_label)
    label_powers_of_two(ax, x[:, axis])


def _parity(ax, plot: dict, x, y, held, style: tuple) -> None:
    """Observed against predicted, for a law with more inputs than one line per value can show."""
    tag, color, y_label = style
    pred = np.asarray(plot["fit"])
    yerr = None
    if plot["lo"] is not None:
        yerr = np.clip([pred - np.asarray(plot["lo"]), np.asarray(plot["hi"]) - pred], 0, None)
    ax.errorbar(
        y[~held],
        pred[~held],
        yerr=None if yerr is None else yerr[:, ~held],
        fmt="o",
        ms=3,
        color=color,
        alpha=0.7,
        label=f"{tag}fitted points (95% CI)",
    )
    if held.any():
        ax.plot(y[held], pred[held], "s", mfc="none", color=color, label=f"{tag}held out")
    lims = [min(y.min(), pred.min()), max(y.max(), pred.max())]
    ax.plot(lims, lims, color="grey", lw=1, ls="--")
    scale = "log" if lims[1] > 10 * lims[0] else "linear"
    ax.set(xscale=scale, yscale=scale, xlabel=f"observed {y_label}", ylabel=f"predicted {y_label}")


def _backtest_panel(ax, result: FitResult, label: str, color, y_label: str, x_labels=None) -> None:
    """Each backtest split's predictions of the held-out points next to what was observed, on
    log axes; every observed point is drawn once, so 48 points stay readable. The x axis is
    named as the fit panel's: a table's column name (`x_labels`), else the law's input."""
    bt = result.backtest
    splits = [s for s in bt["splits"] if "predicted" in s]
    shades = plt.cm.plasma(np.linspace(0, 0.8, len(splits))) if len(splits) > 1 else [color]
    tag = f"{label}: " if label else ""
    seen = {(x, o) for s in splits for x, o in zip(s[bt["axis"]], s["observed"])}
    if seen:
        held, observed = np.array(sorted(seen)).T
        ax.plot(held, observed, "x", color="black", ms=5, label=None if label else "observed")
    for i, (split, shade) in enumerate(zip(splits, shades)):
        dodge = 1.05 ** (i - (len(splits) - 1) / 2)  # side by side around the observed point, not on top
        label = f"{tag}fit on {bt['axis']} <= {number(split['train_max'])}: {100 * split['mean_rel_error']:.1f}% off"
        ax.plot(
            np.asarray(split[bt["axis"]]) * dodge,
            split["predicted"],
            "o",
            mfc="none",
            color=shade,
            ms=4,
            mew=0.8,
            label=label,
        )
    score = bt.get("mean_rel_error")
    title = f"backtest: mean {100 * score:.1f}% error" if score is not None else f"backtest: {bt.get('error', '')}"
    ax.set(
        xscale="log",
        yscale="log",
        xlabel=f"{_axis_label(result, bt['axis'], x_labels)} (held out)",
        ylabel=y_label,
        title=title,
    )
    if seen:
        ax.set_xlim(held.min() / 1.4, held.max() * 1.4)
        label_powers_of_two(ax, held)


def _axis_label(result: FitResult, name: str, x_labels=None) -> str:
    """The label of the law's input `name`: the table's column for it, else its words."""
    if x_labels and name in result.inputs and len(x_labels) == len(result.inputs):
        return x_labels[result.inputs.index(name)]
    return INPUT_LABEL.get(name, name)


def _compute_panel(ax, result: FitResult, label: str, color) -> None:
    co = result.extras["compute_optimal"]
    tag = f"{label}: " if label else ""
    ax.plot(co["compute"], co["n_opt"], color=color, label=f"{tag}N_opt (parameters)")
    ax.plot(co["compute"], co["d_opt"], color=color, ls="--", label=f"{tag}D_opt (tokens)")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="compute C = 6ND (FLOP)",
        ylabel="compute-optimal N, D",
        title="compute-optimal allocation",
    )


def law_figure(
    entries: list[tuple[str, FitResult | NotFitted]],
    title: str,
    x_labels=None,
    y_label: str = "error",
    extrapolate: float = EXTRAPOLATE,
):
    """One law: its fit with the 95% CI band and prediction interval, out to `extrapolate` x the
    data (left), its backtest (middle or right) and, for chinchilla, the compute-optimal
    allocation; one colour per group of `entries`."""
    entries = [(label, as_result(e)) for label, e in entries]
    extra = any(e.fitted and "compute_optimal" in e.extras for _, e in entries)
    fig, axes = plt.subplots(1, 3 if extra else 2, figsize=(16 if extra else 11, 4.2))
    notes = []
    for i, (label, entry) in enumerate(entries):
        label = label if len(entries) > 1 else ""
        if not entry.fitted:
            notes.append(f"{label + ': ' if label else ''}not fitted: {entry.reason}")
            continue
        _fit_panel(axes[0], entry, label, f"C{i}", x_labels, y_label, extrapolate)
        _backtest_panel(axes[1], entry, label, f"C{i}", y_label, x_labels)
        if "compute_optimal" in entry.extras:
            _compute_panel(axes[2], entry, label, f"C{i}")
    for i, note in enumerate(notes):
        axes[0].text(0.02, 0.95 - 0.08 * i, note, transform=axes[0].transAxes, fontsize=7, va="top", wrap=True)
    for ax in axes:
        plain_log_labels(ax)
        if ax.get_legend_handles_labels()[0]:  # 8 points: read on a summary page, the figure is shown at ~60%
            below(ax, fontsize=8, y=-0.2)
    axes[0].set_title(title)
    with warnings.catch_warnings():  # many groups' legends below the axes cannot fit the layout;
        warnings.filterwarnings("ignore", "Tight layout not applied")  # savefig's tight bbox keeps them
        fig.tight_layout()
    return fig


def draw_all(
    curve: pd.DataFrame, sizes: pd.DataFrame, fits: dict, out_dir: Path | str, extrapolate: float = EXTRAPOLATE
) -> list[Path]:
    """All figures for every (dataset, family); files are named <dataset>.<family>.<figure>."""
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
