import numpy as np
import pytest

from scalinglaws.laws import FitError, PowerLaw, SizeLaw


@pytest.mark.parametrize("alpha,beta,gamma", [(3.0, -0.5, 0.01), (0.8, -0.3, 0.0), (50.0, -1.0, 0.05)])
def test_power_law_recovers_known_parameters_from_noisy_points(alpha, beta, gamma):
    rng = np.random.default_rng(1)
    n = 128 * 2.0 ** np.arange(10)
    y = (alpha * n**beta + gamma) * np.exp(0.01 * rng.standard_normal(len(n)))
    law = PowerLaw().fit(n, y)
    p = law.params_
    assert p["beta"] == pytest.approx(beta, abs=0.05)
    assert p["gamma"] == pytest.approx(gamma, abs=0.003 + 0.1 * gamma)
    assert law.goodness(n, y)["r2_log"] > 0.99
    np.testing.assert_allclose(law.predict(n), alpha * n**beta + gamma, rtol=0.05)


def test_power_law_rejects_too_few_or_non_positive_points():
    with pytest.raises(FitError, match="at least 3"):
        PowerLaw().fit([1, 2], [1.0, 0.5])
    with pytest.raises(FitError, match="positive"):
        PowerLaw().fit([1, 2, 4], [1.0, 0.0, 0.5])


def test_flat_curve_is_flagged():
    law = PowerLaw().fit([100, 200, 400, 800], [0.5, 0.52, 0.49, 0.51])
    assert law.warnings_


def test_size_law_recovers_exponent():
    n = 100 * 2.0 ** np.arange(8)
    s = 7.0 * n**0.7
    law = SizeLaw().fit(n, s)
    assert law.params_["beta_p"] == pytest.approx(0.7, abs=1e-9)
    assert law.params_["k"] == pytest.approx(7.0, rel=1e-9)
