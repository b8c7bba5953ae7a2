"""One figure per fitted law: its fit with the 95% CI band and prediction interval (or observed
against predicted, for a law with more inputs than lines can show), its backtest and, for
chinchilla, the compute-optimal allocation; one colour per group. The curve-level figures and
the drawing helpers they share are figures.py's."""

from __future__ import annotations

import warnings

import numpy as np

from ..fit.grid import EXTRAPOLATE
from ..fit.result import FitResult, NotFitted, as_result
from .axes import INPUT_LABEL, input_value, label_powers_of_two, number, plain_log_labels
from .figures import below, draw_gamma, draw_intervals, draw_small_data, plt


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
