"""Where a fitted law is evaluated for its figure: a grid along the law's axis (one line per
value of its other input when that has few values), or the data points themselves (a parity
plot). The grid runs past the data, to `extrapolate` x its largest value, so that the figure shows
the bands where they matter most; the bootstrap predicts on the same grid."""

from __future__ import annotations

import numpy as np

from .laws import Law

MAX_LINES = 8  # a 2-input law is drawn as one line per value of its other input, up to this many
EXTRAPOLATE = 10.0  # default: the grid (and the figures' bands) reach 10x the largest value
POINTS = 60


def plot_grid(law: Law, x: np.ndarray, extrapolate: float = EXTRAPOLATE) -> tuple[np.ndarray, dict]:
    """(points to predict at, the plot's description for fits.json)."""
    ax = law.axis
    grid = np.geomspace(x[:, ax].min(), extrapolate * x[:, ax].max(), POINTS)
    if x.shape[1] == 1:
        return grid[:, None], {"kind": "curve", "x": grid.tolist(), "data_max": float(x[:, ax].max())}
    if x.shape[1] > 2:
        return x, {"kind": "parity"}
    other = 1 - ax
    values = np.unique(x[:, other])
    if len(values) > MAX_LINES:
        return x, {"kind": "parity"}
    blocks = []
    for v in values:
        block = np.empty((len(grid), 2))
        block[:, ax], block[:, other] = grid, v
        blocks.append(block)
    return np.vstack(blocks), {
        "kind": "lines",
        "x": grid.tolist(),
        "line_input": law.x_names[other],
        "line_values": values.tolist(),
        "data_max": float(x[:, ax].max()),
    }


def per_line(plot: dict, values) -> list | None:
    """Predictions on the grid, shaped as the plot reads them: one row per line for "lines"."""
    if values is None:
        return None
    return np.reshape(values, (len(plot["line_values"]), -1) if plot["kind"] == "lines" else -1).tolist()
