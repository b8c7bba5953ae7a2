"""The figures as a new user reads them: what their axes, ticks, legends, lines and captions say."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from scalinglaws.aggregate.curves import learning_curve
from scalinglaws.fit.study import StudyFit, fit_study
from scalinglaws.report import figures, law_figures
from scalinglaws.report.axes import label_powers_of_two, number

SHARDS = [128 * 2**k for k in range(8)]
PARAMS = [100, 300, 1000, 3000, 10000, 30000]  # 6 sizes x 8 shards: a joint law on 48 points


def bent_runs() -> pd.DataFrame:
    """A joint law bent toward the best guess (1.0) at the smallest shard, so the power law
    leaves it out (the small-data region); three seeds, two learning rates."""
    rng = np.random.default_rng(0)
    rows = []
    for n in SHARDS:
        for size, params in enumerate(PARAMS):
            clean = 10.0 * n**-0.5 + 0.3 * params**-0.5 + 0.1
            for lr in (0.003, 0.01):
                for seed in range(3):
                    err = clean / (clean**4 + 1.0) ** 0.25 * (1.02 if lr == 0.01 else 1.0)
                    err *= np.exp(0.02 * rng.standard_normal())
                    rows.append(
                        {
                            "dataset": "d",
                            "family": "f",
                            "size": size,
                            "params": params,
                            "n": n,
                            "seed": seed,
                            "lr": lr,
                            "val_metric": err,
                            "test_metric": err,
                            "diverged": False,
                            "metric": "mse",
                            "best_step": 100,
                            "budget": 200,
                            "limited_by": "none",
                        }
                    )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def study():
    runs = bent_runs()
    fits = fit_study(runs, StudyFit(replicates=20, laws=("power", "size", "joint"), best_guess={"d": 1.0}))
    return learning_curve(runs), fits["d/f"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    figures.plt.close("all")


def texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def tick_labels(axis) -> list[str]:
    return [t.get_text() for t in axis.get_majorticklabels() if t.get_text()]


def test_the_fit_is_not_drawn_through_the_small_data_points_it_left_out(study):
    curve, fit = study
    start = fit["power"]["regions"]["power_law_start"]
    assert fit["power"]["regions"]["small_data_n"][:1] == [128] and start >= 256
    for fig in (
        figures.learning_curve_figure(curve, fit, "d / f"),
        law_figures.law_figure([("", fit["power"])], "power", y_label="test MSE"),
    ):
        ax = fig.axes[0]
        fitted = [
            line
            for line in ax.get_lines()
            if line.get_label().startswith(("fit", "_child"))
            and line.get_linestyle() == "-"
            and len(line.get_xdata()) > 10
        ]
        assert fitted and all(min(line.get_xdata()) >= start for line in fitted)
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]  # fill_between, not error bars
        assert len(bands) == 2
        for band in bands:  # the bands start there too
            for path in band.get_paths():
                assert path.vertices[:, 0].min() >= start * (1 - 1e-9)
        assert "left out of the fit (small data)" in texts(ax)


def test_gamma_is_labelled_with_its_value_and_the_bands_are_in_the_legend(study):
    curve, fit = study
    gamma = fit["power"]["params"]["gamma"]["value"]
    for fig in (
        figures.learning_curve_figure(curve, fit, "d / f"),
        law_figures.law_figure([("", fit["power"])], "power", y_label="test MSE"),
    ):
        ax = fig.axes[0]
        labels = texts(ax)
        assert any(t.startswith(f"gamma = {gamma:.3g}") for t in labels), labels
        assert any(t.get_text() == f"gamma = {gamma:.3g}" for t in ax.texts)  # on the line itself
        assert "95% CI of the mean curve" in labels and "95% prediction interval, new run" in labels


def test_axes_name_the_quantity_and_label_powers_of_two_as_integers(study):
    curve, fit = study
    lc = figures.learning_curve_figure(curve, fit, "d / f").axes[0]
    assert (lc.get_xlabel(), lc.get_ylabel()) == ("training examples n", "test MSE")
    labels = tick_labels(lc.xaxis)
    assert labels[:3] == ["128", "512", "2048"] and len(labels) >= 5  # 128 to 10x 16384: every 2nd power
    assert all(t.isdigit() and int(t) == 2 ** round(np.log2(int(t))) for t in labels)
    errors = tick_labels(lc.yaxis)  # plain numbers on the log y axis, not 10^-1 in mathtext
    assert "0.1" in errors and not any("$" in t or "e-" in t for t in errors)
    sizes = pd.DataFrame({"n": np.repeat(SHARDS, 2), "params": PARAMS[:2] * 8, "test_mean": 0.1, "test_std": 0.01})
    ax = figures.size_figure(sizes, "d / f", "mse").axes[0]
    assert ax.get_ylabel() == "test MSE" and "metric" not in ax.get_ylabel() and "parameters" in ax.get_xlabel()
    for name in ("power", "joint", "size"):
        fig = law_figures.law_figure([("", fit[name])], name, y_label="test MSE")
        assert fig.axes[0].get_xlabel() == "training examples n"
        assert fig.axes[1].get_xlabel() == "training examples n (held out)"


def test_the_joint_legend_says_what_m_is(study):
    _, fit = study
    labels = texts(law_figures.law_figure([("", fit["joint"])], "joint", y_label="test MSE").axes[0])
    assert "m = 100 parameters: fit" in labels and "m = 30000 parameters: fit" in labels
    assert not any("e+" in t for t in labels)


def test_the_backtest_panel_has_log_axes_and_draws_each_observed_point_once(study):
    _, fit = study
    bt = fit["joint"]["backtest"]
    held = {(n, o) for s in bt["splits"] if "predicted" in s for n, o in zip(s["n"], s["observed"])}
    ax = law_figures.law_figure([("", fit["joint"])], "joint", y_label="test MSE").axes[1]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    observed = [line for line in ax.get_lines() if line.get_label() == "observed"]
    assert len(observed) == 1 and len(observed[0].get_xdata()) == len(held)
    assert len(fit["joint"]["data"]["y"]) == 48
    assert not any("e+" in t for t in texts(ax)) and not any("e+" in t for t in tick_labels(ax.xaxis))
    # a 1-input law whose backtest spans less than a decade is on a log axis as well
    assert law_figures.law_figure([("", fit["power"])], "power", y_label="test MSE").axes[1].get_yscale() == "log"


def test_numbers_read_as_written():
    assert [number(v) for v in (1024, 1024.0, 0.01234, 2.5e8)] == ["1024", "1024", "0.0123", "2.5e+08"]
    fig, ax = figures.plt.subplots()
    ax.plot([100, 300, 1000], [1, 2, 3])
    ax.set_xscale("log")
    assert not label_powers_of_two(ax, [100, 300, 1000])  # not powers of two: decades stay
    figures.plt.close(fig)


REPORT = Path(__file__).resolve().parents[1] / "workflow" / "report"
PANEL_WORDS = r"\bpanels?\b|\b(Left|Middle|Right)\b|\b(left|middle|right) (panel|side)\b"  # not "left out"


def test_no_caption_names_a_panel_its_figure_does_not_have(study):
    curve, fit = study
    law = (REPORT / "law.rst").read_text()
    axes = len(law_figures.law_figure([("", fit["power"])], "power", y_label="test MSE").axes)
    named = re.findall(r"(First|Second|Third) panel( \(chinchilla only\))?", law)
    assert named and not re.search(r"\b(Left|Middle|Right)\b", law)
    assert all(["First", "Second", "Third"].index(word) < axes for word, only in named if not only)
    sizes = pd.DataFrame({"n": np.repeat(SHARDS, 2), "params": PARAMS[:2] * 8, "test_mean": 0.1, "test_std": 0.01})
    single = {
        "learning_curve": figures.learning_curve_figure(curve, fit, "t"),
        "best_size": figures.best_size_figure(curve, fit, "t"),
        "error_vs_size": figures.size_figure(sizes, "t"),
    }
    for name, fig in single.items():
        assert len(fig.axes) == 1 and not re.search(PANEL_WORDS, (REPORT / f"{name}.rst").read_text()), name
    # every figure the rules mark for the report has a caption of its own
    rules = (REPORT.parent / "rules" / "figures.smk").read_text()
    names = re.search(r"FIGURES = \[(.*)\]", rules).group(1)
    for name in re.findall(r'"(\w+)"', names) + ["pruning_density", "pruning_collapse", "summary", "workflow"]:
        assert (REPORT / f"{name}.rst").is_file(), name


def test_the_learning_curve_marks_what_2x_4x_10x_data_buy_as_the_summary_says(study):
    from scalinglaws.fit.predict import predict_rows

    curve, fit = study
    ax = figures.learning_curve_figure(curve, fit, "d / f", extrapolate=10).axes[0]
    bars = [c for c in ax.containers if c.get_label() == "predicted at 2x, 4x, 10x the data (95% PI)"]
    x, y = bars[0].lines[0].get_data()
    rows = predict_rows(Path("fits.json"), {"d/f": fit}, np.array([2.0, 4.0, 10.0]) * 16384, "power", "d/f")
    assert list(x) == [32768, 65536, 163840] and np.allclose(y, rows["prediction"])
    segments = bars[0].lines[2][0].get_segments()  # the error bars: (x, low) to (x, high)
    assert np.allclose([s[0][1] for s in segments], rows["pi_low"])
    assert np.allclose([s[1][1] for s in segments], rows["pi_high"])
    assert max(line.get_xdata().max() for line in ax.get_lines() if len(line.get_xdata()) > 10) == pytest.approx(163840)


def test_a_gamma_at_zero_is_named_but_does_not_stretch_the_axis(study):
    curve, fit = study
    power = {**fit["power"], "params": {**fit["power"]["params"], "gamma": {"value": 3e-18, "ci95": [0.0, 0.01]}}}
    ax = figures.learning_curve_figure(curve, {**fit, "power": power}, "d / f").axes[0]
    assert "gamma = 3e-18 (irreducible, 95% CI 0 to 0.01; not drawn)" in texts(ax)
    assert ax.get_ylim()[0] > 1e-3 * curve["test_mean"].min()


def test_figures_of_issue_25_legend_backtest_axis_and_minor_ticks(study):
    """Issue 25 item 8: the error-vs-size legend covered the smallest shard's line; the backtest
    axis of a table's fit said "training examples n" for a column named x; a learning curve
    spanning one decade had two labelled ticks on its y axis."""
    curve, fit = study
    sizes = pd.DataFrame({"n": np.repeat(SHARDS, 2), "params": PARAMS[:2] * 8, "test_mean": 0.1, "test_std": 0.01})
    fig = figures.size_figure(sizes, "d / f", "mse")
    fig.canvas.draw()
    ax = fig.axes[0]
    legend, frame = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.y1 <= frame.y0  # under the axes, over none of the lines
    fig = law_figures.law_figure([("", fit["power"])], "power", x_labels=["x"], y_label="error")
    assert fig.axes[0].get_xlabel() == "x" and fig.axes[1].get_xlabel() == "x (held out)"
    fig = figures.learning_curve_figure(curve, fit, "d / f")
    ax = fig.axes[0]
    ax.set_ylim(0.012, 0.11)  # one decade, as the default study's curve
    fig.canvas.draw()
    minor = [t.get_text() for t in ax.yaxis.get_minorticklabels() if t.get_text()]
    assert {"0.02", "0.03", "0.05"} <= set(minor)
