"""The best-guess error of a dataset: what a model that ignores its input achieves.

It anchors the small-data region (regions.py) and is the joint law's eps0 (Rosenfeld et al.
2020's random-guess error). From the evaluation split's targets, by metric:
- mse: the variance of the targets (predict their mean), averaged over outputs; rmse: its root;
- error (classification): 1 - 1/K for K classes (a uniform guess);
- bpb (language models): the entropy of the byte distribution in bits (a unigram guess).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UserError


def best_guess_error(metric: str, y: np.ndarray) -> float:
    y = np.asarray(y)
    if metric in ("mse", "rmse"):
        var = float(np.mean(np.var(y.reshape(len(y), -1).astype(float), axis=0)))
        return var if metric == "mse" else float(np.sqrt(var))
    if metric == "error":
        return 1.0 - 1.0 / len(np.unique(y))
    if metric == "bpb":
        p = np.bincount(y.ravel().astype(np.int64)) / y.size
        p = p[p > 0]
        return float(-(p * np.log2(p)).sum())
    raise UserError(f"no best-guess error is known for the metric {metric!r}")


def best_guesses(evals: dict[str, str], metrics: dict[str, str], split: str = "test") -> dict[str, float]:
    """{dataset: best-guess error} from each dataset's stored eval splits (data.npz)."""
    out = {}
    for dataset, path in evals.items():
        if dataset in metrics:
            with np.load(Path(path)) as data:
                out[dataset] = best_guess_error(metrics[dataset], data[f"{split}_y"])
    return out
