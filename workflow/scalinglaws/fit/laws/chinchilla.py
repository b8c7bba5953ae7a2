"""Hoffmann et al. 2022 (approach 3), as replicated by Besiroglu et al. 2024.

    L(N, D) = E + A / N^alpha + B / D^beta          (N parameters, D training tokens)

fitted as log L ~ LSE(a - alpha log N, b - beta log D, e) with A = e^a, B = e^b, E = e^e,
minimising the Huber loss (delta = 1e-3) of the log residuals SUMMED over points (a mean makes
L-BFGS stop early, one cause of the original paper's off estimates), by L-BFGS from every
start of a grid: alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25}.

With C = 6 N D, the loss-minimising allocation is N_opt(C) = G (C/6)^(beta/(alpha+beta)),
D_opt(C) = (C/6)^(alpha/(alpha+beta)) / G, with G = (alpha A / (beta B))^(1/(alpha+beta)).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import minimize

from .base import Law, Prior, Role

# The summed Huber loss is tiny (about 1e-3 at the optimum), so L-BFGS-B's default tolerances stop
# a warm-started bootstrap refit almost where it began; these let it converge (the bootstrap
# intervals then match the replication's).
TOLERANCE = {"ftol": 1e-15, "gtol": 1e-12}
HOFFMANN_GRID = {
    "a": np.arange(0, 30, 5.0),
    "b": np.arange(0, 30, 5.0),
    "e": np.arange(-1, 1.5, 0.5),
    "alpha": np.arange(0, 2.5, 0.5),
    "beta": np.arange(0, 2.5, 0.5),
}


def huber(r: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Huber loss of each residual and its derivative."""
    small = np.abs(r) <= delta
    return np.where(small, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta)), np.clip(r, -delta, delta)


class ChinchillaLaw(Law):
    name = "chinchilla"
    formula = "L(N, D) = E + A/N^alpha + B/D^beta"
    param_names = ("E", "A", "B", "alpha", "beta")
    x_names = ("N", "D")
    log_params = frozenset({"E", "A", "B"})
    weighable = False  # its own objective: the replication's summed Huber loss
    role = Role.JOINT
    priors = {"screen": Prior.STARTS}
    auto = True

    def __init__(self, delta: float = 1e-3, screen: int | None = None):
        """delta: the Huber threshold; screen: run L-BFGS only from the `screen` grid starts with
        the lowest loss (None: from every one of the 4,500, as the replication did)."""
        super().__init__()
        self.delta, self.screen = delta, screen

    def options(self) -> dict:
        return {"delta": self.delta, "screen": self.screen}

    def _f(self, x, p):
        return p["E"] + p["A"] / np.power(x[:, 0], p["alpha"]) + p["B"] / np.power(x[:, 1], p["beta"])

    def _bounds(self, x, y):
        return {p: (-np.inf, np.inf) if p in ("alpha", "beta") else (0.0, np.inf) for p in self.param_names}

    def _theta(self, p: dict) -> np.ndarray:
        """The optimiser's coordinates (a, b, e, alpha, beta)."""
        return np.array([np.log(p["A"]), np.log(p["B"]), np.log(p["E"]), p["alpha"], p["beta"]])

    def _objective(self, theta, log_n, log_d, log_y):
        """Summed Huber loss of LSE(a - alpha log N, b - beta log D, e) - log L, and its gradient."""
        a, b, e, alpha, beta = theta
        z = np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])
        top = z.max(axis=0)
        w = np.exp(z - top)
        total = w.sum(axis=0)
        loss, dloss = huber(top + np.log(total) - log_y, self.delta)
        w *= dloss / total  # d loss / d z
        grad = np.array([w[0].sum(), w[1].sum(), w[2].sum(), -(w[0] * log_n).sum(), -(w[1] * log_d).sum()])
        return float(loss.sum()), grad

    def grid_starts(self, log_n, log_d, log_y) -> np.ndarray:
        """The grid of starts, the `screen` best first if screening."""
        g = HOFFMANN_GRID
        starts = np.array(list(itertools.product(g["a"], g["b"], g["e"], g["alpha"], g["beta"])))
        if self.screen is None or self.screen >= len(starts):
            return starts
        a, b, e, alpha, beta = (starts[:, i : i + 1] for i in range(5))
        z = np.stack([a - alpha * log_n, b - beta * log_d, np.broadcast_to(e, (len(starts), len(log_n)))])
        lse = np.logaddexp.reduce(z, axis=0)
        loss = huber(lse - log_y, self.delta)[0].sum(axis=1)
        return starts[np.argsort(loss)[: self.screen]]

    def _fit(self, x, y, init):
        self.bounds_ = self._bounds(x, y)
        data = (np.log(x[:, 0]), np.log(x[:, 1]), np.log(y))
        starts = [self._theta(init.params_)] if init is not None else self.grid_starts(*data)
        # Every start runs to L-BFGS-B's default tolerance; the best is then run to the tight one.
        best = None
        for theta0 in starts:
            res = minimize(
                self._objective,
                theta0,
                args=data,
                jac=True,
                method="L-BFGS-B",
                options=TOLERANCE if len(starts) == 1 else None,
            )
            if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
                best = res
        if len(starts) > 1:
            best = minimize(self._objective, best.x, args=data, jac=True, method="L-BFGS-B", options=TOLERANCE)
        a, b, e, alpha, beta = best.x
        self.params_ = {
            "E": float(np.exp(e)),
            "A": float(np.exp(a)),
            "B": float(np.exp(b)),
            "alpha": float(alpha),
            "beta": float(beta),
        }
        self.loss_ = float(best.fun)

    def _fit_warnings(self, x, y):
        return [
            f"{p} = {self.params_[p]:.3g} <= 0: the loss does not fall with {'N' if p == 'alpha' else 'D'}"
            for p in ("alpha", "beta")
            if self.params_[p] <= 0
        ]

    def _fit_notes(self, x, y):
        """E at 0 (no floor: the law nests its floorless form, which the intervals carry)."""
        if self.params_["E"] < 1e-3 * y.min():
            return [f"E = {self.params_['E']:.3g} is at its lower bound (0): no irreducible loss resolved"]
        return []

    # -- compute-optimal allocation ---------------------------------------------------------
    def optimal_allocation(self, compute) -> tuple[np.ndarray, np.ndarray]:
        """N_opt(C) and D_opt(C) that minimise L(N, D) subject to 6 N D = C."""
        p = self.params_
        s = p["alpha"] + p["beta"]
        g = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / s)
        c6 = np.asarray(compute, float) / 6
        return g * c6 ** (p["beta"] / s), c6 ** (p["alpha"] / s) / g

    def derived(self, params):
        s = params["alpha"] + params["beta"]
        return {"n_opt_exponent": params["beta"] / s, "d_opt_exponent": params["alpha"] / s}

    def _allocation_defined(self) -> bool:
        """The optimum exists only where the loss falls with both N and D."""
        return self.params_["alpha"] > 0 and self.params_["beta"] > 0

    def extras(self) -> dict:
        if not self._allocation_defined():
            return {}
        compute = np.geomspace(1e18, 1e26, 9)
        n_opt, d_opt = self.optimal_allocation(compute)
        return {
            "compute_optimal": {
                "definition": "N_opt(C), D_opt(C) minimise L(N, D) subject to C = 6 N D; N_opt ~ C^n_opt_exponent",
                "compute": compute.tolist(),
                "n_opt": n_opt.tolist(),
                "d_opt": d_opt.tolist(),
                "loss": self.predict(np.column_stack([n_opt, d_opt])).tolist(),
            }
        }

    def _summary_extras(self):
        if not self._allocation_defined():
            return ["compute-optimal allocation: not defined (the loss does not fall with both N and D)"]
        d = self.derived(self.params_)
        n_opt, d_opt = self.optimal_allocation(1e21)
        return [
            f"compute-optimal: N_opt ~ C^{d['n_opt_exponent']:.3f}, D_opt ~ C^{d['d_opt_exponent']:.3f}"
            f" (at C = 1e21 FLOP: N = {n_opt:.3g}, D = {d_opt:.3g})"
        ]
