"""Variable projection: starts for a law's search from a grid over its nonlinear parameters only.

In y = sum_j c_j * g_j(x; theta) the coefficients c (amplitudes, offsets) enter linearly: for
every theta on a grid (exponents, breaks) they are solved in closed form, so the search is over
theta alone and no start for c can be unlucky. The linear solve is weighted least squares on
the relative residual (pred - y) / y, which is what the laws' log-residual objectives
approximate, with c >= 0 solved exactly by trying every active set (k <= 3 coefficients, so at
most 7 sets). The best grid points, by the law's own objective, become the starts of the full
bounded fit (base.Law._fit), which then polishes every parameter jointly.
"""

from __future__ import annotations

import itertools

import numpy as np

STARTS = 4  # grid points kept as starts for the full fit


def nonneg_least_squares(basis: np.ndarray, y: np.ndarray, sd=None) -> tuple[np.ndarray, np.ndarray]:
    """For basis (G, n, k): coefficients (G, k) >= 0 minimising sum(((basis @ c - y) / (y sd))^2)
    (sd: each point's relative error, None: 1), and that sum (G,); infinite where no active set
    gives a finite solution."""
    w = 1.0 / y if sd is None else 1.0 / (y * sd)
    a = basis * w[None, :, None]
    g, _, k = basis.shape
    best_coef, best_sse = np.zeros((g, k)), np.full(g, np.inf)
    ones = np.ones_like(y) if sd is None else 1.0 / sd  # y * w
    for size in range(1, k + 1):
        for cols in itertools.combinations(range(k), size):
            sub = a[:, :, cols]
            gram = np.einsum("gni,gnj->gij", sub, sub)
            rhs = np.einsum("gni,n->gi", sub, ones)  # (basis @ c) * w should match y * w
            with np.errstate(all="ignore"):
                coef = np.einsum("gij,gj->gi", np.linalg.pinv(gram), rhs)
                sse = ((np.einsum("gni,gi->gn", sub, coef) - ones) ** 2).sum(axis=1)
            ok = np.isfinite(sse) & (coef >= 0).all(axis=1) & (sse < best_sse)
            best_sse[ok] = sse[ok]
            full = np.zeros((ok.sum(), k))
            full[:, cols] = coef[ok]
            best_coef[ok] = full
    return best_coef, best_sse


def grid(**axes) -> dict[str, np.ndarray]:
    """The full product of the given values, as one array per name."""
    names = list(axes)
    points = np.array(list(itertools.product(*axes.values())), float).reshape(-1, len(names))
    return {name: points[:, i] for i, name in enumerate(names)}


def best_starts(
    law,
    x: np.ndarray,
    y: np.ndarray,
    nonlinear: dict[str, np.ndarray],
    basis: np.ndarray,
    linear: tuple[str, ...],
    keep: int = STARTS,
) -> list[dict]:
    """The `keep` best grid points by the law's own objective, each with its solved linear
    coefficients: starts for the full fit. `basis` is (G, n, len(linear))."""
    sd = law.point_errors(x)  # the points' weights, as in the full fit (None: unweighted)
    coef, sse = nonneg_least_squares(basis, y, sd)
    order = np.argsort(sse)[: 8 * keep]  # a short list by the linear fit, re-ranked by the law's loss
    scored = []
    for i in order:
        if not np.isfinite(sse[i]):
            continue
        p = {**law.fixed, **{k: float(v[i]) for k, v in nonlinear.items()}, **dict(zip(linear, coef[i]))}
        p = {k: (max(v, 1e-300) if k in law.log_params else v) for k, v in p.items()}
        with np.errstate(all="ignore"):
            r = law._residuals(law._f(x, p), y) / (1.0 if sd is None else sd)
        loss = float((r**2).sum()) if np.isfinite(r).all() else np.inf
        scored.append((loss, int(i), p))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [p for _, _, p in scored[:keep]]
