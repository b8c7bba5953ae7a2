"""Combining the laws: stacking of predictive distributions on leave-future-out backtests.

Which law extrapolates best differs from curve to curve, and choosing one hides what the others
say. So the default prediction is a mixture of every law fitted to the same data, weighed by
how well each predicted the future in like-for-like backtests (Yao, Vehtari, Simpson and Gelman
2018, *Using stacking to average Bayesian predictive distributions*; the splits are Bürkner,
Gabry and Vehtari 2020's leave-future-out ones, the rolling origins of backtest.py):

- each backtest split's fit gives, for every point beyond its cutoff, a predictive distribution
  of log(y) centred on the law's prediction, with the variance of its parameters (the delta
  method on the split's own least-squares fit) plus the noise of a new point, both scaled by
  that fit's own residual variance (a law that misfits the points it was fitted to predicts
  broadly, and earns less for it): a Student t with that variance's degrees of freedom, the
  predictive of a regression whose noise is estimated (a normal would call a 3-parameter law
  through 4 points, one residual, near certain). A fit with fewer than 2 degrees of freedom
  takes the split's noise instead (that of the law with the most degrees of freedom there);
- the weights maximise the log score of the mixture over the points of the splits every law was
  scored on (a concave problem, solved by the EM fixed point), so a law that the data cannot
  support earns little weight because its backtests say so, not by a rule on its parameters;
- those weights rest on a handful of splits, and maximising over so few is all-or-nothing: a law
  that predicted 4 splits slightly better takes weight 1 and its narrow interval alone, though
  the next split could well favour another. So the weights are averaged over Bayesian-bootstrap
  redraws of the splits (Rubin 1981: Dirichlet(1, ..., 1) weights on the splits, each split's
  points together, since they share one fit's errors), as Yao et al.'s pseudo-BMA+ does for its
  weights: the weights carry their own uncertainty, and where a few splits cannot tell the laws
  apart, the mixture keeps both;
- a law that is another with parameters held (power-pure: power with no floor; Law.restricts)
  is weighed only where that other law cannot be backtested (few points): the held value is a
  claim that backtests inside the data cannot test (a floor shows beyond them), its fewer
  parameters win those backtests, and its narrow band would stand in for the fuller law's
  (on clean curves with a floor beyond the data, the mixture's band covered the truth 77% of the
  time with it, 95% without; benchmarks/RESULTS.md);
- the mixture's CI and PI pool the laws' bootstrap curves and new-run draws in proportion to
  the weights (mixture.py): where laws that fit the data alike part beyond it, the interval
  widens. The combination records the combined prediction beside each law's own at a few
  multiples of the largest x.

At a split where a law could not be fitted (too few points below its cutoff) it forecasts as the
simplest law that could, so every law is scored on every split; when no law could be scored at
all (too few points for any backtest), the laws that were fitted with at least one degree of
freedom share equal weights, and the combination says so.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from scipy.stats import t as student_t

from .laws import LAWS
from .laws.minimizer import pack, quiet, unpack
from .mixture import by_weight, predictions, shown

METHOD = (
    "stacking of predictive distributions (Yao et al. 2018) on leave-future-out backtests, "
    "averaged over Bayesian-bootstrap redraws of the splits"
)
RESTRICTED = (
    "{law} is {of} with parameters held, and {of} could be backtested: the held value is a claim backtests "
    "inside the data cannot test, so {of} speaks for both (`--law {law}` gives it alone)"
)
EQUAL = "equal weights: no backtest split could be scored (too few points), each law fitted with a degree of freedom"
EM_ITERATIONS = 2000
STRONG = 0.1  # a law with at least this weight is one the data do not rule out (parting)
MAX_FACTOR = 100.0  # how far beyond the data parting looks (as a multiple of the largest x)
NEGLIGIBLE = 1e-6  # a weight below this is 0: the law's draws would not reach one percentile
MIN_NOISE_DOF = 2  # residual degrees of freedom a split's fit needs to be scored with its own noise
SPLIT_DRAWS = 200  # Bayesian-bootstrap redraws of the backtest splits that the weights average over
DRAW_ITERATIONS = 200  # EM steps per redraw: its weights to about 1e-3, far inside the redraws' spread


# -- a backtest split's predictive distribution ------------------------------------------------
def predictive_log_sd(law, x_train: np.ndarray, y_train: np.ndarray, x_new: np.ndarray) -> dict:
    """For a law fitted to (x_train, y_train): the standard deviation of its prediction of
    log(y) at x_new from its parameters' uncertainty, per unit of the points' noise (delta
    method: var = s^2 g' (J'J)^+ g, J the Jacobian of the fit's log residuals, g that of log f
    at x_new; a derivative that is not finite counts as none), and s^2, the residual variance
    per degree of freedom (None when the fit interpolates)."""
    rows = law.fitted_rows(x_train)
    x, y = x_train[rows], y_train[rows]
    theta = pack(law, law.params_)
    if not np.isfinite(theta).all() or not len(theta):
        return {"param_sd_unit": None, "resid_var": None, "dof": 0}

    def log_f(t, at):
        return np.log(law._f(at, unpack(law, t)))

    with quiet():
        step = 1e-6 * (1.0 + np.abs(theta))
        jac, grad = np.empty((len(y), len(theta))), np.empty((len(x_new), len(theta)))
        for j in range(len(theta)):
            up, down = theta.copy(), theta.copy()
            up[j] += step[j]
            down[j] -= step[j]
            jac[:, j] = (log_f(up, x) - log_f(down, x)) / (2 * step[j])
            grad[:, j] = (log_f(up, x_new) - log_f(down, x_new)) / (2 * step[j])
        resid = log_f(theta, x) - np.log(y)
    dof = len(y) - len(theta)
    resid_var = float(resid @ resid / dof) if dof > 0 and np.isfinite(resid).all() else None
    jac, grad = (
        np.nan_to_num(jac, nan=0.0, posinf=0.0, neginf=0.0),
        np.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0),
    )
    cov_unit = np.linalg.pinv(jac.T @ jac)
    spread = np.einsum("ij,jk,ik->i", grad, cov_unit, grad)
    return {"param_sd_unit": np.sqrt(np.maximum(spread, 0.0)).tolist(), "resid_var": resid_var, "dof": max(dof, 0)}


# -- weights -----------------------------------------------------------------------------------
def _scored_splits(backtest: dict) -> dict[float, dict]:
    return {
        s["train_max"]: s for s in backtest.get("splits", []) if "predicted" in s and s.get("param_sd_unit") is not None
    }


def split_noise(splits: dict[str, dict]) -> tuple[float, int] | None:
    """A split's noise of a new point (log units) and its degrees of freedom: the residual
    variance of the law with the most degrees of freedom there, the one that estimates it best."""
    known = [(s["dof"], s["resid_var"]) for s in splits.values() if _own_noise(s)]
    return max(known)[::-1] if known else None


def _own_noise(split: dict) -> bool:
    """Whether a split's fit estimates its own noise: a residual variance on at least
    MIN_NOISE_DOF degrees of freedom (one residual's square says next to nothing: its 95% range
    spans a factor of 1000)."""
    return split.get("resid_var") is not None and split.get("dof", 0) >= MIN_NOISE_DOF


def log_scores(backtests: dict[str, dict], cutoffs: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """(points of the splits, laws): each law's log predictive density of every point beyond each
    cutoff; and (points,): the index of each point's cutoff. At a cutoff where a law could not be
    fitted (too few points below it), it forecasts as the simplest law that could (`backtests`
    lists the laws simplest first): a law is judged as the procedure "this law where it can be
    fitted", like for like on every split."""
    names = list(backtests)
    scored = {name: _scored_splits(backtests[name]) for name in names}
    columns, split_of = {name: [] for name in names}, []
    for i, c in enumerate(cutoffs):
        fallback = next(scored[n][c] for n in names if c in scored[n])
        splits = {name: scored[name].get(c, fallback) for name in names}
        noise = split_noise(splits) or (0.0, np.inf)
        for name, s in splits.items():  # a new point's noise, and the prediction's own
            own = (s["resid_var"], s["dof"]) if _own_noise(s) else noise
            var = own[0] * (1.0 + np.square(s["param_sd_unit"])) + 1e-12
            z = np.log(np.asarray(s["observed"])) - np.log(np.asarray(s["predicted"]))
            # a Student t with the noise's degrees of freedom (a normal for dof = inf): the
            # predictive of a point when the noise variance is itself estimated from so few residuals
            columns[name].append(student_t.logpdf(z, own[1], scale=np.sqrt(var)))
        split_of += [i] * len(z)
    return np.column_stack([np.concatenate(columns[name]) for name in names]), np.asarray(split_of)


def stacking_weights(
    scores: np.ndarray, point_weights: np.ndarray | None = None, iterations: int = EM_ITERATIONS
) -> np.ndarray:
    """The simplex weights that maximise sum_i u_i log sum_k w_k exp(scores[i, k]) (EM fixed
    point), u the points' weights (1 each by default); with u of shape (draws, points), one row
    of weights per draw."""
    u = np.ones((1, len(scores))) if point_weights is None else np.atleast_2d(point_weights)
    u = u / u.sum(axis=1, keepdims=True)
    w = np.full((len(u), scores.shape[1]), 1.0 / scores.shape[1])
    for _ in range(iterations):
        with np.errstate(divide="ignore"):
            joint = scores[None] + np.log(w)[:, None, :]
        resp = np.exp(joint - logsumexp(joint, axis=2, keepdims=True))
        new = np.einsum("bn,bnk->bk", u, resp)
        done = np.abs(new - w).max() < 1e-12
        w = new
        if done:
            break
    return w[0] if point_weights is None else w


def bagged_stacking_weights(scores: np.ndarray, split_of: np.ndarray, seed: int) -> np.ndarray:
    """Stacking weights averaged over Bayesian-bootstrap redraws of the splits (SPLIT_DRAWS draws
    of Dirichlet(1, ..., 1) weights, one per split, shared by its points): the weights with
    their own uncertainty, which a handful of splits leaves large."""
    splits = int(split_of.max()) + 1
    if splits < 2:
        return stacking_weights(scores)
    draws = np.random.default_rng([seed, 11]).dirichlet(np.ones(splits), size=SPLIT_DRAWS)
    return stacking_weights(scores, draws[:, split_of], DRAW_ITERATIONS).mean(axis=0)


def combine(entries: dict[str, dict], among: str) -> dict | None:
    """The stacking weights of the laws in `entries` ({name: fit entry}, all fitted to the same
    points along the same axis), with how they were found; None for fewer than two laws."""
    if len(entries) < 2:
        return None
    fitted = {n: e for n, e in entries.items() if "params" in e}
    not_combined = {
        n: e.get("error") or e.get("skipped") or "not fitted" for n, e in entries.items() if n not in fitted
    }
    free = {n: sum(not p["fixed"] for p in e["params"].values()) for n, e in fitted.items()}
    scored = sorted((n for n in fitted if _scored_splits(fitted[n]["backtest"])), key=lambda n: (free[n], n))
    for n in fitted:
        if n not in scored:
            not_combined[n] = "no backtest split could be fitted and scored"
    out = {"among": among, "method": METHOD, "weights": {}, "not_combined": not_combined}
    names = scored
    cutoffs = sorted(set().union(*(_scored_splits(fitted[n]["backtest"]) for n in names)))
    standing_in = [n for n in names if _restricts(fitted[n]) not in names]  # weighed (all score)
    for n in (n for n in names if n not in standing_in):  # in order: fits.json must not vary by run
        not_combined[n] = RESTRICTED.format(law=n, of=_restricts(fitted[n]))
    if not names:
        carried = [n for n in fitted if fitted[n]["goodness"]["points"] > free[n]]
        if not carried:
            return {**out, "reason": "no law was fitted with a degree of freedom to spare"}
        weights = {n: 1.0 / len(carried) for n in carried}
        return {**out, "weights": weights, "reason": EQUAL, **_predicted(_results(fitted, weights), weights)}
    scores, split_of = log_scores({n: fitted[n]["backtest"] for n in names}, cutoffs)
    scores, names = scores[:, [names.index(n) for n in standing_in]], standing_in
    w = bagged_stacking_weights(scores, split_of, _seed(fitted)) if len(names) > 1 else np.ones(1)
    w = np.where(w < NEGLIGIBLE, 0.0, w)
    w = w / w.sum()
    mixture = float(logsumexp(scores + np.log(np.maximum(w, 1e-300)), axis=1).sum())
    weights = {n: float(v) for n, v in zip(names, w)}
    results = _results(fitted, weights)
    parted = parting(results, weights)
    return {
        **({"warning": parted} if parted else {}),
        **out,
        "weights": weights,
        "reason": f"log score of the mixture {mixture:.4g} over {len(scores)} predicted point(s) of "
        f"{len(cutoffs)} backtest split(s)",
        "splits": cutoffs,
        "log_score": {n: float(scores[:, i].sum()) for i, n in enumerate(names)},
        **_predicted(results, weights),
    }


def _restricts(entry: dict) -> str | None:
    """The law that this entry's law holds some parameters of (Law.restricts), if any."""
    law = LAWS.get(entry.get("law"))
    return law.restricts if law else None


def _seed(fitted: dict[str, dict]) -> int:
    """The fit's seed (its bootstrap's), for the weights' redraws."""
    return next((int(e["predict"]["seed"]) for e in fitted.values() if "seed" in e.get("predict", {})), 0)


def _results(fitted: dict[str, dict], weights: dict[str, float]) -> dict:
    """The weighed laws' fit results (FitResult), read from their entries."""
    from .result import FitResult  # the results read the laws' registry; combine is read by backtests

    return {n: FitResult.from_json(fitted[n]) for n in weights}


def _predicted(results: dict, weights: dict[str, float]) -> dict:
    """{"predictions": the combined prediction beside each law's own (mixture.py)}, where every
    weighed law can predict."""
    if not results or not all(r.can_predict() for r in results.values()):
        return {}
    return {"predictions": predictions(results, weights)}


def parting(results: dict, weights: dict[str, float]) -> str | None:
    """Where two laws that both carry weight (the data do not tell them apart) part beyond the
    data: the first multiple of the largest x (up to MAX_FACTOR) where one's prediction leaves
    the other's 95% PI, as one warning; None if they never do (or take two inputs).
    `results`: the laws' FitResults."""
    strong = [n for n, w in weights.items() if w >= STRONG]
    results = {n: results[n] for n in strong}
    if len(strong) < 2 or any(len(r.inputs) != 1 or not r.can_predict() for r in results.values()):
        return None
    factors = np.geomspace(1.0, MAX_FACTOR, 41)
    first = next(iter(results.values()))
    at = (factors * first.x[~first.held_out, 0].max())[:, None]  # beyond the fitted points
    iv = {n: r.predict(at) for n, r in results.items()}
    if any(v["pi_low"] is None for v in iv.values()):
        return None
    apart = np.zeros(len(factors), bool)
    for a in strong:
        for b in strong:
            if a != b:
                apart |= (iv[a]["prediction"] < iv[b]["pi_low"]) | (iv[a]["prediction"] > iv[b]["pi_high"])
    if not apart.any():
        return None
    k = int(np.argmax(apart))
    names = ", ".join(strong[:-1]) + f" and {strong[-1]}"
    return (
        f"{names} fit the data alike (stacking weights {', '.join(f'{weights[n]:.2f}' for n in strong)}) but part "
        f"beyond {factors[k]:.3g}x the largest fitted x: there one's prediction leaves the other's 95% PI. The combined "
        "interval spans both; a measurement out there would tell them apart"
    )


def describe(combo: dict) -> list[str]:
    """The combination as printable lines."""
    weights = ", ".join(f"{n} {w:.2f}" for n, w in shown(combo["weights"]))
    zero = [n for n, w in combo["weights"].items() if round(w, 2) == 0]
    lines = [f"combined ({combo['among']}): {weights or 'no law'}; {combo['reason']}"]
    lines += [f"  {', '.join(zero)}: weight 0.00 (predicted the held-back shards worse)"] if zero else []
    lines += [f"  warning: {combo['warning']}"] if combo.get("warning") else []
    lines += [f"  {n}: not combined: {why}" for n, why in combo["not_combined"].items()]
    return lines + prediction_lines(combo)


def prediction_lines(combo: dict) -> list[str]:
    """The combined prediction and each law's own at the reported points, one line a point."""
    block = combo.get("predictions")
    if not block:
        return []
    lines, both = [], block["combined"]
    for i, (k, at) in enumerate(zip(block["factors"], block["at"])):
        pi = f" (95% PI [{both['pi_low'][i]:.4g}, {both['pi_high'][i]:.4g}])" if both["pi_low"] else ""
        alone = ", ".join(f"{n} {block['laws'][n]['prediction'][i]:.4g}" for n, _ in by_weight(combo["weights"]))
        where = ", ".join(f"{v:.4g}" for v in at)
        lines.append(f"  at {k:g}x the largest x ({where}): combined {both['prediction'][i]:.4g}{pi}; alone: {alone}")
    return lines
