"""Plain constants shared by the forecasting modules (importing this costs nothing)."""

DEFAULT_MODELS = ("AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive")
MIN_OBS = 4  # below this many observations only Naive is fitted
BOUNDS = ("lo_80", "hi_80", "lo_95", "hi_95")  # interval bounds of a forecast, as named in the answer contract
# the value rule (forecasting.parsing.check_magnitude): no value of magnitude above 2**53 (about 9.0e15), the largest
# a float64 holds to the unit, is ingested
MAX_ABS_VALUE = float(2 ** 53)
