"""Two intervals at any x, inside or beyond the data: a confidence interval of the mean curve,
and a prediction interval for one new run.

Both come from the bootstrap's parameter samples, stored in fits.json, so `scalinglaws predict`
and the figures compute them in one way at points never measured:
- the CI of the mean curve: percentiles of the samples' predictions;
- the PI of a new run: each sample's prediction times the noise of a new run (a new training
  set and seed: `Noise.new_run_var`, in log units), drawn from Student's t with the
  Welch-Satterthwaite degrees of freedom of that variance (few shards give wide intervals).
"""

from __future__ import annotations

import numpy as np

from .laws import Law
from .uncertainty import CI_LEVEL, Noise

PI_DRAWS = 4000  # new-run draws in all, spread over the bootstrap samples


def noise_dof(noise: Noise) -> float:
    """Degrees of freedom of new_run_var: the residual part is estimated from `dof` residuals,
    the seed part from many runs (taken as known)."""
    if noise.shared_var <= 0 or noise.dof < 1:
        return np.inf
    return noise.new_run_var**2 / (noise.shared_var**2 / noise.dof)


def intervals(
    law: Law, samples: np.ndarray, noise: Noise | None, at, seed: int = 0, level: float = CI_LEVEL
) -> dict[str, np.ndarray | None]:
    """prediction, ci_low/ci_high (mean curve) and pi_low/pi_high (a new run) at the rows of
    `at`, from a fitted `law` and bootstrap `samples` (replicates x law.param_names)."""
    at = np.asarray(at, float).reshape(-1, len(law.x_names))
    pred = law._f(at, law.params_)
    half = (1 - level) / 2 * 100
    names = list(law.param_names)
    if len(samples) >= 2:
        curves = np.array([law._f(at, dict(zip(names, s))) for s in samples])
        ci_low, ci_high = np.nanpercentile(curves, [half, 100 - half], axis=0)
    else:
        curves, ci_low, ci_high = pred[None, :], None, None
    out = {"prediction": pred, "ci_low": ci_low, "ci_high": ci_high, "pi_low": None, "pi_high": None}
    if noise is None or not noise.new_run_var > 0:
        return out
    rng = np.random.default_rng([seed, 3])
    per = max(1, PI_DRAWS // len(curves))
    dof = noise_dof(noise)
    draws = rng.standard_normal((len(curves), per)) if np.isinf(dof) else rng.standard_t(dof, (len(curves), per))
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(curves)[:, None, :] + np.sqrt(noise.new_run_var) * draws[:, :, None]
    lo, hi = np.nanpercentile(logs.reshape(-1, len(pred)), [half, 100 - half], axis=0)
    out["pi_low"], out["pi_high"] = np.exp(lo), np.exp(hi)
    return out
