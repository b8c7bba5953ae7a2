"""Calibration: a linear teacher whose learning-curve exponent is known in closed form.

The generative model of Maloney, Roberts and Sully 2022: Gaussian features z whose variances
follow a power law, lam_k = k^-(1 + alpha) (normalised to sum to 1), and a linear teacher
y = W^T z with Gaussian weights (so every output has unit signal variance), plus label noise.
There are `outputs` independent outputs: the MSE averages over them, which averages away most
of the luck of one training set, so a single dataset shows the expected curve. With `clean_test`
(the default) the test labels are the noiseless teacher, so the test MSE is the excess risk.

Known exponents of the test MSE:
- in data, variance-limited (noise_std > 0, n >> dim, a model that contains the teacher, such
  as the `linear` family with size >= dim): least squares has expected excess risk
  noise_std^2 * dim / (n - dim - 1) for any feature covariance, so the exponent is -1 (the
  variance-limited regime of Bahri et al. 2021; -n / (n - dim - 1) locally). Shrinkage can do
  better when n * lam_dim is not >> noise_std^2, so calibrate with alpha = 0 or n large enough.
- in model size, resolution-limited (n -> infinity, the `linear` family on the first N
  features, which come sorted by variance): the error is the unexplained signal
  sum_{k > N} lam_k ~ N^-alpha.
"""

from __future__ import annotations

import numpy as np

from .base import Split
from .synthetic import PARAMS, SyntheticDataset


class CalibrationDataset(SyntheticDataset):
    task = "regression"
    metric = "mse"
    defaults = {"dim": 16, "outputs": 128, "alpha": 0.0, "noise_std": 0.5, "clean_test": True}

    def __init__(self, name: str, options: dict, seed: int):
        super().__init__(name, options, seed)
        dim = int(self.options["dim"])
        self.input_shape, self.num_outputs = (dim,), int(self.options["outputs"])
        lam = np.arange(1, dim + 1, dtype=float) ** -(1.0 + float(self.options["alpha"]))
        self.scale = np.sqrt(lam / lam.sum())  # standard deviation of each feature
        self.weights = self.rng(PARAMS).standard_normal((dim, self.num_outputs))

    def sample(self, rng: np.random.Generator, n: int, split: str) -> Split:
        z = rng.standard_normal((n, len(self.scale))) * self.scale
        y = z @ self.weights
        if not (split == "test" and self.options["clean_test"]):
            y = y + float(self.options["noise_std"]) * rng.standard_normal(y.shape)
        return Split(z.astype(np.float32), y.astype(np.float32))

    def least_squares_excess(self, n) -> np.ndarray:
        """Expected excess test MSE of least squares on n examples (n > dim + 1): exponent -1."""
        dim, noise = len(self.scale), float(self.options["noise_std"])
        return noise**2 * dim / (np.asarray(n, float) - dim - 1)

    def truncation_error(self, features) -> np.ndarray:
        """Test MSE of the best linear model on the first N features (n -> inf): ~ N^-alpha."""
        tail = np.concatenate([np.cumsum(self.scale[::-1] ** 2)[::-1], [0.0]])
        return tail[np.minimum(np.asarray(features, int), len(self.scale))]
