"""eval.scoring against values computed by hand on a small real series: US Census MRTS, shoe stores (NAICS 4482),
not seasonally adjusted, millions of USD, 2018-01 .. 2020-03 (bundled data file)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.eval.scoring import aggregate, cell_losses, summarize, training_frame

SHOES = [2076, 2696, 3275, 2920, 3158, 2893, 3255, 3898, 2736, 2841, 3288, 4217,  # 2018
         2187, 2722, 3383, 3043, 3018, 2796, 3093, 3988, 2594, 2721, 3038, 4044,  # 2019
         2148, 2701, 1686]  # 2020-01 .. 2020-03
DS = pd.date_range("2018-01-01", periods=len(SHOES), freq="MS")


def test_the_series_is_the_bundled_one():
    from tests.conftest import MRTS_FILE

    raw = pd.read_csv(MRTS_FILE, dtype={"naics_code": str})
    shoes = raw[(raw["naics_code"] == "4482") & (raw["adjustment"] == "NSA") & (raw["month"] >= "2018-01")
                & (raw["month"] <= "2020-03")]
    assert shoes["sales_musd"].astype(float).tolist() == SHOES


def _cells() -> pd.DataFrame:
    """Two cells: origin 2019-12 (forecast Jan 2020, actual 2148), origin 2020-02 (forecast Mar 2020, actual 1686);
    variant A with hand-picked forecasts and intervals, variant B = seasonal naive (same month a year before)."""
    rows = []
    spec = {  # variant: [(forecast, lo80, hi80, lo95, hi95) for cell 1, for cell 2]
        "A": [(2200, 2100, 2300, 2000, 2400), (2750, 2550, 2950, 2350, 3150)],
        "B": [(2187, 2087, 2287, 1987, 2387), (3383, 3183, 3583, 2983, 3783)],
    }
    cells = [("2019-12-31", "2019-12-01", "2020-01-01", 2148.0, 4044.0),
             ("2020-02-29", "2020-02-01", "2020-03-01", 1686.0, 2701.0)]
    for variant, values in spec.items():
        for (origin, cutoff, start, actual, last), (f, l80, h80, l95, h95) in zip(cells, values):
            rows.append({"unique_id": "4482", "origin": pd.Timestamp(origin), "variant": variant,
                         "cutoff": pd.Timestamp(cutoff), "period_start": pd.Timestamp(start), "actual": actual,
                         "last": last, "forecast": float(f), "lo_80": float(l80), "hi_80": float(h80),
                         "lo_95": float(l95), "hi_95": float(h95)})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def losses() -> pd.DataFrame:
    panel = pd.DataFrame({"unique_id": "4482", "ds": DS, "y": np.asarray(SHOES, dtype=float)})
    return cell_losses(_cells(), training_frame(panel, 1), season=12, flat_band_pct=1.0)


def test_hand_computed_metrics(losses):
    # MASE scale = mean |y_t - y_(t-12)| over the training data up to the cutoff:
    #   cutoff 2019-12: |2187-2076|+|2722-2696|+...+|4044-4217| = 1542 over 12 months → 128.5
    #   cutoff 2020-02: (1542 + |2148-2187| + |2701-2722|) / 14 = 1602 / 14
    # A: errors |2148-2200| = 52 and |1686-2750| = 1064
    a = aggregate(losses[losses["variant"] == "A"], ["variant"]).iloc[0]
    assert a["mase"] == pytest.approx((52 / 128.5 + 1064 / (1602 / 14)) / 2, rel=1e-12)
    assert a["mase"] == pytest.approx(4.851523145, rel=1e-9)
    assert a["wape"] == pytest.approx(1116 / 3834, rel=1e-12)  # (52 + 1064) / (2148 + 1686)
    assert a["smape"] == pytest.approx((52 / 4348 + 1064 / 4436) / 2, rel=1e-12)  # utilsforecast: 0..1
    # pinball at 0.025/0.1/0.5/0.9/0.975 = lo95/lo80/point/hi80/hi95:
    #   cell 1 (y 2148): 0.025*148, 0.1*48, 0.5*52, 0.1*152, 0.025*252 = 3.7, 4.8, 26, 15.2, 6.3 → mean 11.2
    #   cell 2 (y 1686): 0.975*664, 0.9*864, 0.5*1064, 0.1*1264, 0.025*1464 = 647.4, 777.6, 532, 126.4, 36.6 → 424
    assert a["crps"] == pytest.approx(2 * (11.2 + 424.0) / 3834, rel=1e-12)
    assert a["pinball"] == pytest.approx((11.2 / 128.5 + 424.0 / (1602 / 14)) / 2, rel=1e-12)
    # 2148 is inside both intervals of cell 1, 1686 outside both of cell 2
    assert a["coverage_80"] == 0.5 and a["coverage_95"] == 0.5
    # last periods 4044 and 2701: A says down (2200) then up (2750, +1.8 %); the actuals went down twice
    assert a["direction"] == 0.5
    b = aggregate(losses[losses["variant"] == "B"], ["variant"]).iloc[0]
    assert b["mase"] == pytest.approx((39 / 128.5 + 1697 / (1602 / 14)) / 2, rel=1e-12)
    assert b["direction"] == 0.5  # down (2187 < 4044) right, up (3383 > 2701) wrong


def test_per_origin_values_are_the_cells(losses):
    by_origin = aggregate(losses, ["variant", "origin"]).set_index(["variant", "origin"])
    assert by_origin.loc[("A", pd.Timestamp("2019-12-31")), "mase"] == pytest.approx(52 / 128.5)
    assert by_origin.loc[("A", pd.Timestamp("2020-02-29")), "wape"] == pytest.approx(1064 / 1686)


def test_skill_against_the_reference(losses):
    out = summarize(losses, reference="B", resamples=500, seed=1)
    skill = out["A"]["vs_reference"]["mase_skill"]
    mase_a = (52 / 128.5 + 1064 / (1602 / 14)) / 2
    mase_b = (39 / 128.5 + 1697 / (1602 / 14)) / 2
    assert skill["value"] == pytest.approx(1 - mase_a / mase_b, rel=1e-12)
    assert skill["lo"] <= skill["value"] <= skill["hi"]
    assert out["A"]["vs_reference"]["wape_skill"]["value"] == pytest.approx(1 - 1116 / (39 + 1697), rel=1e-12)
    assert out["A"]["vs_reference"]["direction_diff"]["value"] == 0.0
    assert out["B"]["vs_reference"] == {}
