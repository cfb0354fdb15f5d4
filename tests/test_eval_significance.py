"""eval.significance: the paired bootstrap."""
from __future__ import annotations

import numpy as np
import pytest

from trendcast.eval.significance import diff_ci, ratio_ci, resample_weights, skill_ci


def test_weights_draw_n_cells_per_resample_and_are_seeded():
    w = resample_weights(np.arange(50), 300, seed=3)
    assert w.shape == (300, 50)
    assert (w.sum(axis=1) == 50).all()
    assert np.array_equal(w, resample_weights(np.arange(50), 300, seed=3))
    assert not np.array_equal(w, resample_weights(np.arange(50), 300, seed=4))


def test_cluster_weights_draw_whole_clusters():
    clusters = np.repeat(["2020-03", "2020-04", "2020-05"], 4)
    w = resample_weights(clusters, 200, seed=0)
    for block in range(3):
        cols = w[:, 4 * block:4 * block + 4]
        assert (cols == cols[:, :1]).all()  # the four series of an origin always travel together


def test_identical_variants_have_zero_skill_and_a_degenerate_interval():
    rng = np.random.default_rng(0)
    num = rng.gamma(2.0, size=200)
    w = resample_weights(np.arange(200), 1000, seed=0)
    est = skill_ci(num, np.ones(200), num, np.ones(200), w)
    assert est.value == 0 and est.lo == 0 and est.hi == 0


def test_a_clearly_better_variant_has_an_interval_above_zero():
    rng = np.random.default_rng(0)
    ref = rng.gamma(2.0, size=300)
    better = ref * 0.8 + rng.normal(0, 0.05, size=300).clip(-0.1, 0.1)
    w = resample_weights(np.arange(300), 2000, seed=0)
    est = skill_ci(better, np.ones(300), ref, np.ones(300), w)
    assert est.value == pytest.approx(1 - better.mean() / ref.mean())
    assert 0 < est.lo < est.value < est.hi


def test_pairing_narrows_the_interval():
    """With the same resamples on both sides, cell-to-cell difficulty cancels out of a difference."""
    rng = np.random.default_rng(1)
    difficulty = rng.gamma(1.0, 5.0, size=400)
    a, b = difficulty + rng.normal(0, 0.1, 400), difficulty + 0.05 + rng.normal(0, 0.1, 400)
    w = resample_weights(np.arange(400), 1000, seed=0)
    paired = diff_ci(b, np.ones(400), a, np.ones(400), w)
    wa, wb = resample_weights(np.arange(400), 1000, seed=1), resample_weights(np.arange(400), 1000, seed=2)
    unpaired = (wb @ b) / 400 - (wa @ a) / 400
    assert paired.hi - paired.lo < (np.quantile(unpaired, 0.975) - np.quantile(unpaired, 0.025)) / 5


def test_ratio_of_sums():
    w = resample_weights(np.arange(3), 200, seed=0)
    est = ratio_ci([1.0, 2.0, 3.0], [2.0, 2.0, 2.0], w)
    assert est.value == pytest.approx(1.0)
    assert 0.5 <= est.lo <= est.hi <= 1.5
