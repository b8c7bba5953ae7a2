"""The small-data region: a test near the best-guess error, redone in every bootstrap replicate."""

import numpy as np
import pytest

from scalinglaws.fit.laws import PowerLaw
from scalinglaws.fit.regions import NEAR_BEST_GUESS
from scalinglaws.fit.uncertainty import collapse_runs, resample_runs, runs_noise

SHARDS = 128 * 2.0 ** np.arange(8)


def three_seed_curve(rng, mean, shard_sd=0.03, seed_sd=0.05):
    """3 seeds per shard, a noise term shared by a shard's seeds and one per seed (log units)."""
    x = np.repeat(SHARDS, 3)
    shared = np.repeat(shard_sd * rng.standard_normal(len(SHARDS)), 3)
    return x, np.repeat(mean, 3) * np.exp(shared + seed_sd * rng.standard_normal(len(x)))


def fitted(x, y, best_guess=1.0):
    points, means, _ = collapse_runs(x, y)
    return PowerLaw(best_guess=best_guess, point_var=runs_noise(x, y).point_var).fit(points, means)


@pytest.mark.slow
def test_clean_power_laws_near_the_best_guess_keep_every_shard():
    """The old rule (10% below a 3-parameter fit of the rest) cut 15% of such curves; the test
    weighs the gap by the points' noise and the extrapolation's, and rarely cuts."""
    rng = np.random.default_rng(11)
    mean = 8.0 * SHARDS**-0.5 + 0.01  # 0.72 at n = 128: near the best guess 1.0
    cut = sum(bool(fitted(*three_seed_curve(rng, mean)).small_data_) for _ in range(100))
    assert cut <= 3


def test_shards_bent_toward_the_best_guess_are_left_out_and_only_near_it():
    rng = np.random.default_rng(3)
    clean = 20.0 * SHARDS**-0.5 + 0.01
    bent = clean / (clean**4 + 1.0) ** 0.25  # saturates at the best guess 1.0: 45% down at n = 128, 12% at 512
    for _ in range(5):
        law = fitted(*three_seed_curve(rng, bent))
        assert law.small_data_[:1] == [128.0] and law.n_start_ in (256.0, 512.0, 1024.0)
        assert abs(law.params_["beta"] + 0.5) < 0.1
    # the same shape far below the best guess (here 100) is not the small-data region
    assert fitted(*three_seed_curve(rng, bent), best_guess=100.0).small_data_ == []
    assert bent[0] >= NEAR_BEST_GUESS  # (the shard it left out was near it)


def test_the_region_is_decided_again_in_every_bootstrap_replicate():
    """A borderline bend: some replicates leave the smallest shard out, others keep it."""
    rng = np.random.default_rng(8)
    clean = 15.0 * SHARDS**-0.5 + 0.01
    x, y = three_seed_curve(rng, clean / (clean**4 + 1.0) ** 0.25, shard_sd=0.0, seed_sd=0.08)
    law = fitted(x, y)
    _, reps = resample_runs(x, y, 60, seed=0)
    starts = {law.refit(px, py).n_start_ for px, py in reps}
    assert len(starts) >= 2
