"""forecasting.pooled: StatsForecast(n_jobs=1) per chunk of series in trendcast.common.processes' pool returns the
frame one StatsForecast call returns (and what StatsForecast's own n_jobs pool returned), bit for bit, on real MRTS
series; the chunks are whole series in StatsForecast's order whatever the order of the rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.forecasting import pooled


@pytest.fixture(scope="module")
def mrts_panel() -> pd.DataFrame:
    """Five real MRTS NSA 3-digit series, 2012-2019 (96 months each), rows shuffled."""
    from tests.conftest import MRTS_FILE

    raw = pd.read_csv(MRTS_FILE, dtype={"naics_code": str})
    raw = raw[(raw["adjustment"] == "NSA") & raw["naics_code"].isin(["441", "442", "443", "444", "445"])]
    df = pd.DataFrame({"unique_id": raw["naics_code"], "ds": pd.to_datetime(raw["month"]),
                       "y": pd.to_numeric(raw["sales_musd"], errors="coerce")})
    df = df[(df["ds"] >= "2012-01-01") & (df["ds"] <= "2019-12-01")].dropna()
    assert df.groupby("unique_id").size().eq(96).all()
    return df.sample(frac=1.0, random_state=0, ignore_index=True)


def _models():
    from trendcast.forecasting.combine import forecast_models
    from trendcast.forecasting.models import plan_models

    fitted, fallback, _ = plan_models(["AutoETS", "SeasonalNaive"], 96, 12)
    return forecast_models(fitted, fallback)[0]


def test_chunks_are_whole_series_in_sorted_order():
    df = pd.DataFrame({"unique_id": ["c", "a", "b", "a", "d", "c", "b", "e"], "y": np.arange(8.0)})
    parts = pooled.chunks(df, 3)
    assert [sorted(set(p["unique_id"])) for p in parts] == [["a", "b"], ["c", "d"], ["e"]]
    assert sum(len(p) for p in parts) == len(df)
    assert [len(pooled.chunks(df, n)) for n in (1, 5, 9)] == [1, 5, 5]
    assert pooled.workers_for(4, 3) == 3 and pooled.workers_for(1, 10) == 1 and pooled.workers_for(-1, 1) == 1


@pytest.mark.slow
def test_pooled_calls_equal_one_statsforecast_call_bit_for_bit(mrts_panel):
    from statsforecast import StatsForecast

    models = _models()
    cv_kw = dict(h=3, n_windows=4, step_size=1, refit=False, level=[80, 95])
    one = StatsForecast(models=models, freq="MS", n_jobs=1).cross_validation(df=mrts_panel, **cv_kw)
    theirs = StatsForecast(models=models, freq="MS", n_jobs=2).cross_validation(df=mrts_panel, **cv_kw)
    ours = pooled.cross_validation(models, "MS", mrts_panel, n_jobs=2, **cv_kw)
    pd.testing.assert_frame_equal(ours, one, check_exact=True)
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert ours["unique_id"].nunique() == 5 and len(ours) == 5 * 4 * 3

    fc_kw = dict(h=4, level=[80, 95])
    one = StatsForecast(models=models, freq="MS", n_jobs=1).forecast(df=mrts_panel, **fc_kw)
    ours = pooled.forecast(models, "MS", mrts_panel, n_jobs=2, **fc_kw)
    pd.testing.assert_frame_equal(ours, one, check_exact=True)
