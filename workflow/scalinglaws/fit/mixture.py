"""The combined prediction of a curve's laws: a mixture over laws and bootstrap replicates.

The laws' stacking weights come from combine.py. The mixture's prediction is the weighted
geometric mean of the laws' predictions; its CI pools the laws' bootstrap mean curves and its PI
their new-run draws, each law in proportion to its weight, so where laws that fit the data alike
part beyond it, the interval widens. `predictions` reports the combined prediction beside each
law's own at a few multiples of the largest measured x (FACTORS, which plan's "what k x the
data buys" table and the summary page use too), for fits.json, the `fit` output and the summary page.
"""

from __future__ import annotations

import numpy as np

from . import FACTORS
from .intervals import noise_dof
from .laws.minimizer import quiet
from .uncertainty import CI_LEVEL

PI_DRAWS = 4000  # new-run draws in all, spread over the mixture's bootstrap curves


def by_weight(weights: dict[str, float]) -> list[tuple[str, float]]:
    """Every weighed law, largest weight first (ties by name)."""
    return sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))


def shown(weights: dict[str, float]) -> list[tuple[str, float]]:
    """The weights worth printing (at least 0.005), largest first."""
    return sorted(((n, w) for n, w in weights.items() if round(w, 2) > 0), key=lambda kv: -kv[1])


class Mixture:
    """The combined prediction of a curve's laws (FitResults) with their stacking weights: it
    predicts like one FitResult, so `predict`, the summary page and the benchmarks read either."""

    def __init__(self, results: dict, weights: dict[str, float], seed: int = 0):
        self.weights = {n: weights[n] for n in sorted(weights) if weights[n] > 0}  # as fits.json orders them
        self.results, self.seed = {n: results[n] for n in self.weights}, seed
        first = next(iter(self.results.values()))
        self.law, self.inputs, self.data_max = first.law, first.inputs, first.data_max

    @property
    def name(self) -> str:
        return "combined (" + " + ".join(f"{n} {w:.2f}" for n, w in shown(self.weights)) + ")"

    def can_predict(self) -> bool:
        return True

    def predict(self, at) -> dict[str, np.ndarray]:
        return mixture_intervals(self.results, self.weights, at, self.seed)


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs) -> np.ndarray:
    """Per column of values (draws, points): the weighted quantiles qs (fractions)."""
    order = np.argsort(values, axis=0)
    sorted_v = np.take_along_axis(values, order, axis=0)
    cw = np.cumsum(weights[order], axis=0)
    cw = (cw - 0.5 * weights[order]) / cw[-1]
    out = np.empty((len(qs), values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.interp(qs, cw[:, j], sorted_v[:, j])
    return out


def mixture_intervals(results: dict, weights: dict[str, float], at, seed: int = 0) -> dict[str, np.ndarray]:
    """The combined prediction at the rows of `at`: the weighted geometric mean of the laws'
    predictions, the CI of the mixture of their bootstrap mean curves and the PI of the mixture
    of their new-run distributions (results: {name: FitResult}, weights summing to 1)."""
    names = sorted(n for n, w in weights.items() if w > 0)  # one order, in memory as read from fits.json
    if len(names) == 1:
        return results[names[0]].predict(at)
    half = (1 - CI_LEVEL) / 2
    logs, cw, noisy, nw = [], [], [], []
    rng = np.random.default_rng([seed, 5])
    center = 0.0
    for n in names:
        r, w = results[n], weights[n]
        iv = r.predict(at)
        center = center + w * np.log(iv["prediction"])
        names_p = list(r.law.param_names)
        with quiet():
            curves = (
                np.array(
                    [
                        r.law._f(np.asarray(at, float).reshape(-1, len(r.inputs)), dict(zip(names_p, s)))
                        for s in r.samples
                    ]
                )
                if len(r.samples)
                else iv["prediction"][None, :]
            )
            lc = np.log(curves)
        logs.append(lc)
        cw.append(np.full(len(lc), w / len(lc)))
        per = max(1, int(round(PI_DRAWS * w / len(lc))))
        sd, dof = np.sqrt(max(r.noise.new_run_var, 0.0)), noise_dof(r.noise)
        shape = (len(lc), per, 1)
        draws = lc[:, None, :] + sd * (rng.standard_normal(shape) if np.isinf(dof) else rng.standard_t(dof, shape))
        noisy.append(draws.reshape(-1, lc.shape[1]))
        nw.append(np.full(len(lc) * per, w / (len(lc) * per)))
    logs, cw, noisy, nw = np.vstack(logs), np.concatenate(cw), np.vstack(noisy), np.concatenate(nw)
    ok = np.isfinite(logs).all(axis=1)
    ci = np.exp(_weighted_quantiles(logs[ok], cw[ok], [half, 1 - half]))
    ok = np.isfinite(noisy).all(axis=1)
    pi = np.exp(_weighted_quantiles(noisy[ok], nw[ok], [half, 1 - half]))
    return {"prediction": np.exp(center), "ci_low": ci[0], "ci_high": ci[1], "pi_low": pi[0], "pi_high": pi[1]}


def prediction_points(result, factors=FACTORS) -> np.ndarray:
    """The rows where the predictions are reported: factors x the largest measured value along
    the law's axis, its other inputs at their largest measured values."""
    at = np.tile(result.x.max(axis=0), (len(factors), 1))
    at[:, result.axis] = np.asarray(factors, float) * result.data_max
    return at


def predictions(results: dict, weights: dict[str, float], factors=FACTORS) -> dict:
    """The combined prediction and each law's own (every law weighed, whatever its weight), with
    their 95% CI and PI, at prediction_points: what the weights mean where a user asks."""
    first = next(iter(results.values()))
    at = prediction_points(first, factors)

    def block(iv: dict) -> dict:
        return {k: None if v is None else [float(a) for a in v] for k, v in iv.items()}

    return {
        "factors": [float(k) for k in factors],
        "at": at.tolist(),
        "combined": block(mixture_intervals(results, weights, at, first.seed)),
        "laws": {n: block(r.predict(at)) for n, r in sorted(results.items())},
    }
