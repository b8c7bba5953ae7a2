"""What a figure's axes and legends say: the quantity and its unit, and numbers as a reader
writes them (1024 training examples, not 1.02e+03 or 10^3).

Studies put their shards 2x apart from a power of two, so their n axes are labelled at powers
of two; any other axis keeps matplotlib's decades.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import Formatter, FuncFormatter, Locator, LogFormatterSciNotation, NullFormatter, NullLocator

from ..fit import FACTORS

METRIC_LABEL = {"mse": "test MSE", "rmse": "test RMSE", "error": "test error rate", "bpb": "test loss (bits per byte)"}
# a law's input names, as an axis label and as the unit of one value (the joint law's m, ...)
INPUT_LABEL = {"n": "training examples n", "m": "parameters m", "N": "parameters N", "D": "training tokens D"}
INPUT_UNIT = {"n": "examples", "m": "parameters", "N": "parameters", "D": "tokens"}
# "what k x data buys": the summary's table and the learning curve's markers show plan's default factors
DATA_FACTORS = FACTORS
MAX_TICKS = 8  # labelled powers of two on one axis; more are thinned to every 2nd, 4th...


def metric_label(metric: str, target: str = "test") -> str:
    """'test MSE', 'val error rate': the fitted quantity with its unit."""
    return METRIC_LABEL.get(metric, metric).replace("test", target)


def number(v: float) -> str:
    """An integer as an integer (1024), anything else with 3 significant digits."""
    v = float(v)
    return f"{v:.0f}" if v == round(v) and abs(v) < 1e7 else f"{v:.3g}"


def input_value(name: str, value: float) -> str:
    """'m = 369 parameters': a value of a law's input, saying what it is."""
    unit = INPUT_UNIT.get(name)
    return f"{name} = {number(value)}" + (f" {unit}" if unit else "")


def powers_of_two(values) -> bool:
    """Whether every value is a power of two (shards 64, 128, ...)."""
    v = np.asarray(values, float).ravel()
    v = v[np.isfinite(v)]
    return bool(len(v)) and bool(np.all(v > 0)) and bool(np.allclose(np.log2(v), np.round(np.log2(v))))


class _PowersOfTwo(Locator):
    """Ticks at the powers of two of the axis' view, decided when drawn (so lines added later
    get ticks too): every one, or every 2nd, 4th... to keep MAX_TICKS at most."""

    def __call__(self):
        lo, hi = sorted(self.axis.get_view_interval())
        exps = np.arange(np.ceil(np.log2(max(lo, 1e-300))), np.floor(np.log2(hi)) + 1)
        step = max(1, int(np.ceil(len(exps) / MAX_TICKS)))
        return 2.0 ** exps[::step]


def label_powers_of_two(ax, values, which: str = "x") -> bool:
    """Ticks of a log axis at powers of two, labelled as integers, when the data `values` are
    powers of two; False where they are not."""
    if not powers_of_two(values):
        return False
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(_PowersOfTwo())
    axis.set_major_formatter(FuncFormatter(lambda v, _: number(v)))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())
    return True


class _PlainLogFormatter(LogFormatterSciNotation):
    """matplotlib's choice of which log ticks to label, written as plain numbers (0.02, 4000)."""

    def __call__(self, x, pos=None):
        return number(x) if super().__call__(x, pos) else ""


class _MinorLogLabels(Formatter):
    """Labels of a log axis' minor ticks, chosen from the decades it spans when drawn: a learning
    curve spans one or two decades, where matplotlib's own choice labelled only the two powers
    of ten (0.01 and 0.1) and left the data between them unread."""

    def __call__(self, x, pos=None):
        lo, hi = sorted(self.axis.get_view_interval())
        if not (lo > 0 and x > 0):
            return ""
        decades = np.log10(hi / lo)
        coefficient = round(x / 10 ** np.floor(np.log10(x) + 1e-9))
        keep = MINOR_LABELS[next(i for i, limit in enumerate(MINOR_DECADES) if decades <= limit)]
        return number(x) if coefficient in keep else ""


MINOR_DECADES = (0.5, 1.5, 2.5, np.inf)  # spans up to these many decades label ...
MINOR_LABELS = ({2, 3, 4, 5, 6, 7, 8, 9}, {2, 3, 5}, {2, 5}, set())  # ... these minor ticks


def plain_log_labels(ax, which: str = "y") -> None:
    """A log axis labelled 0.01, 0.02, 0.1 rather than 10^-2, 2x10^-2 (no-op on a linear axis),
    its minor ticks labelled where it spans few decades."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    if axis.get_scale() == "log":
        axis.set_major_formatter(_PlainLogFormatter())
        axis.set_minor_formatter(_MinorLogLabels())
