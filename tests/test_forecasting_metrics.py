"""Metrics on real MRTS numbers (clothing stores 4481, NSA, million USD), expected values worked out by hand."""
from __future__ import annotations

import pytest

from trendcast.forecasting import metrics

# 2018-01 .. 2019-12
TRAIN = [11643, 12926, 16382, 14945, 17132, 15676, 15944, 16608, 14709, 15833, 19074, 23481,
         11955, 12514, 16212, 15820, 16829, 15728, 15971, 17028, 14374, 16070, 18992, 24357]
ACTUAL = [12287, 13439, 7584]  # 2020-01 .. 2020-03 (March: the first COVID closures)
SNAIVE = [11955, 12514, 16212]  # seasonal naive forecast = 2019-01 .. 2019-03


def test_mase_scales_by_in_sample_seasonal_naive_mae():
    # in-sample |y_t - y_{t-12}| over 2019: 312 412 170 875 303 52 27 420 335 237 82 876 → sum 4101, mean 341.75
    # forecast errors: |12287-11955| = 332, |13439-12514| = 925, |7584-16212| = 8628 → mean 9885 / 3 = 3295
    assert metrics.mase(ACTUAL, SNAIVE, TRAIN, season_length=12) == pytest.approx(3295 / 341.75)


def test_wape_and_smape():
    assert metrics.wape(ACTUAL, SNAIVE) == pytest.approx(9885 / (12287 + 13439 + 7584))
    expected = (332 / (12287 + 11955) + 925 / (13439 + 12514) + 8628 / (7584 + 16212)) / 3
    assert metrics.smape(ACTUAL, SNAIVE) == pytest.approx(expected)


def test_pinball_loss():
    # q = 0.5 is half the MAE; q = 0.9: max(0.9 d, -0.1 d) for d = 332, 925, -8628 → 298.8, 832.5, 862.8
    assert metrics.pinball_loss(ACTUAL, SNAIVE, 0.5) == pytest.approx(3295 / 2)
    assert metrics.pinball_loss(ACTUAL, SNAIVE, 0.9) == pytest.approx((298.8 + 832.5 + 862.8) / 3)


def test_scaled_crps_from_the_80_and_95_bounds():
    # January 2020 = 12,287 against quantiles 0.025/0.1/0.5/0.9/0.975 = 11000/11500/12000/12500/13000:
    # d = 1287, 787, 287, -213, -713 → losses 32.175, 78.7, 143.5, 21.3, 17.825 → mean 58.7
    got = metrics.scaled_crps([12287], median=[12000], lo_80=[11500], hi_80=[12500], lo_95=[11000], hi_95=[13000])
    assert got == pytest.approx(2 * 58.7 / 12287)


def test_coverage():
    assert metrics.coverage(ACTUAL, [11000, 12000, 15000], [13000, 14000, 17000]) == pytest.approx(2 / 3)
    assert metrics.coverage([12287], [12287], [13000]) == 1.0  # bounds count as inside


def test_directional_accuracy_with_a_flat_band():
    # actual month-on-month changes: Jan -49.6 % (down), Feb +9.4 % (up), Mar -43.6 % (down)
    actual = [(12287 / 24357 - 1) * 100, (13439 / 12287 - 1) * 100, (7584 / 13439 - 1) * 100]
    predicted = [-50.0, 0.5, -10.0]  # down, flat (inside the 1 % band), down
    assert metrics.directions(actual, 1.0).tolist() == ["down", "up", "down"]
    assert metrics.directional_accuracy(actual, predicted, flat_band_pct=1.0) == pytest.approx(2 / 3)
