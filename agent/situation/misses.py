"""How much of the latest miss the next period carries, learned from past situations only.

A *miss* is log(actual / baseline) of a past situation: the cheap backtest baseline (agent.casebook, fitted on data
up to its own origin) against what then came in. The latest miss known at as-of says how far the sales just broke
away from what the baseline method expected; the question is how much of it the next period keeps.

A miss is a *break* when it is larger than MIN_BREAK_PCT and than Z_BREAK of the series' own robust standard
deviations of past misses, on a series where such misses are rare (at most RARE_BREAKS of its past ones: a Walmart
department the backtest model misses every holiday "breaks" all the time, and those misses revert) — the one rule,
also behind the answer's break warning (`break_text`). Measured on the US
Census MRTS 3/4-digit series (origins 1995..2020): in ordinary months carrying any of the backtest's miss makes the suite's
combined baseline worse (+9 % MASE outside the 2020 shock when carrying ~0.3): its backtest misses are
autocorrelated but the combined baseline has already absorbed that — so nothing is carried. A *break* is carried,
and two kinds of break behave differently, so each has its own learned share:

- a **new** break (the miss before it was ordinary): pre-2020 new breaks carried ~0.7 of their miss into the next
  period (29 cases on the 28 series, 2000-2011); March 2020 → April 2020 carried more than all of it;
- a **continuing** break (the miss before was a break too): the baseline has begun to absorb it and the world may be
  turning — April → May 2020 carried ~0.4, May → June ~0.15.

Each share is a least-squares slope of next miss on latest miss over the past pairs of that kind whose outcome was
known by as-of, shrunk toward PRIOR_SHARE with weight PRIOR_WEIGHT (in units of squared log misses: one past break
of ~22 %), and clipped to [0, 1]: never reversed, never amplified.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

Z_BREAK = 4.0  # a break: a miss beyond this many robust sds of the series' past misses ...
MIN_BREAK_PCT = 15.0  # ... and beyond this many percent
SCALE_WINDOW = 60  # past misses the robust sd is taken over
MIN_SCALE_OBS = 12
PRIOR_SHARE, PRIOR_WEIGHT = 0.5, 0.05
COMMON_SHOCK_SHARE = 1 / 3  # when at least this share of a series' peers broke at once, every one of them is uncertain
RARE_BREAKS = 0.1  # a break counts only on a series where they are rare (at most this share of its past misses)
KINDS = ("ordinary", "new break", "continuing break")


@dataclass
class Miss:
    """The latest miss of a series known at a date."""
    series_id: str
    period: tuple[dt.date, dt.date]  # the outcome period's first day and the day it was all observed
    log_miss: float
    z: float  # |log_miss| / robust sd of the series' earlier misses
    scale: float
    kind: str  # one of KINDS

    @property
    def pct(self) -> float:
        return 100.0 * math.expm1(self.log_miss)


@dataclass
class Share:
    kind: str
    share: float  # of the log miss carried into the next period
    n: int  # past pairs of this kind it was learned from
    raw: float | None  # the unshrunk least-squares slope (None: no pairs)
    first: dt.date | None = None  # the earliest and latest past origin among them
    last: dt.date | None = None


def _misses(bt: pd.DataFrame, freq: str, as_of: dt.date) -> dict[str, tuple[np.ndarray, ...]]:
    """Per series: (origins, known-by dates, log misses, outcome period starts) of the backtest rows whose outcome
    was known by as_of, by origin."""
    from trendcast.forecasting.periods import known_dates

    ok = bt.dropna(subset=["baseline", "actual"])
    ok = ok[(ok["baseline"] > 0) & (ok["actual"] > 0)]
    ok = ok.assign(known=known_dates(ok["period_start"], ok["period_end"], freq),
                   origin=pd.to_datetime(ok["origin"]).to_numpy("datetime64[D]"),
                   period_start=pd.to_datetime(ok["period_start"]).to_numpy("datetime64[D]"),
                   log_miss=np.log(ok["actual"].to_numpy("float64") / ok["baseline"].to_numpy("float64")))
    ok = ok[ok["known"].to_numpy("datetime64[D]") <= np.datetime64(as_of)]
    out: dict[str, tuple[np.ndarray, ...]] = {}
    for sid, g in ok.groupby("unique_id", sort=True):
        if len(g) < MIN_SCALE_OBS + 2:
            continue
        g = g.sort_values("origin", kind="stable")
        out[str(sid)] = (g["origin"].to_numpy("datetime64[D]"), g["known"].to_numpy("datetime64[D]"),
                         g["log_miss"].to_numpy("float64"), g["period_start"].to_numpy("datetime64[D]"))
    return out


def _states(origins, known, m) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Per row j of one series: the latest row known at its origin (-1: none), the robust sd of the misses
    before it (NaN: too few) and the kind of its miss (None where the sd is unknown)."""
    latest = np.searchsorted(known, origins, side="right") - 1  # known[j] <= origin[i] < known[i]: always < i
    scale = np.full(len(m), np.nan)
    for j in range(len(m)):
        past = m[max(0, j - SCALE_WINDOW):j]
        if len(past) >= MIN_SCALE_OBS:
            scale[j] = float(np.median(np.abs(past - np.median(past)))) * 1.4826 or 1e-9
    z = np.abs(m) / scale
    flag = [bool(np.isfinite(z[j])) and _is_break(float(z[j]), float(m[j])) for j in range(len(m))]
    valid = np.cumsum([np.isfinite(v) for v in z]) - np.isfinite(z)  # misses with a scale before j
    seen = np.cumsum(flag) - np.asarray(flag)  # breaks before j
    # a break counts only where breaks are rare: a series the backtest misses every holiday breaks all the time
    brk = [flag[j] and valid[j] >= MIN_SCALE_OBS and seen[j] <= RARE_BREAKS * valid[j] for j in range(len(m))]
    kinds: list[str | None] = []
    for j in range(len(m)):
        if not np.isfinite(z[j]):
            kinds.append(None)
            continue
        b = latest[j]
        kinds.append(_kind(brk[j], b >= 0 and brk[b]))
    return latest, scale, kinds


def _is_break(z: float, log_miss: float) -> bool:
    return z >= Z_BREAK and abs(math.expm1(log_miss)) * 100 >= MIN_BREAK_PCT


def _kind(is_break: bool, before_was_break: bool) -> str:
    if not is_break:
        return "ordinary"
    return "continuing break" if before_was_break else "new break"


def _at(bt: pd.DataFrame, series_id: str, freq: str, as_of: dt.date, got=None):
    """(origins, known, misses, starts, latest, scale, kinds, j) of one series with j its latest miss known at
    as_of; None when there is none, too few before it, or it is stale (the series stopped). `got`: its
    `_misses` entry, when the caller has it."""
    got = got or _misses(bt[bt["unique_id"] == series_id], freq, as_of).get(series_id)
    if got is None:
        return None
    origins, known, m, starts = got
    latest, scale, kinds = _states(origins, known, m)
    j = int(np.searchsorted(known, np.datetime64(as_of), side="right")) - 1
    if j < 0 or kinds[j] is None:
        return None
    days = int((np.datetime64(as_of) - known[j]).astype(int))
    if days > max(40, 1.5 * int((known[j] - starts[j]).astype(int))):
        return None  # the series stopped: its last miss says nothing about the next period
    return origins, known, m, starts, latest, scale, kinds, j


def latest_miss(bt: pd.DataFrame, series_id: str, freq: str, as_of: dt.date) -> Miss | None:
    """The series' latest miss known at as_of and what kind it is (None: too few known misses)."""
    got = _at(bt, series_id, freq, as_of)
    if got is None:
        return None
    origins, known, m, starts, _, scale, kinds, j = got
    return Miss(series_id, (pd.Timestamp(starts[j]).date(), pd.Timestamp(known[j]).date()), float(m[j]),
                float(abs(m[j]) / scale[j]), float(scale[j]), kinds[j])


def break_extents(bt: pd.DataFrame, series_id: str, freq: str, as_of: dt.date, before: int = 2
                  ) -> tuple[float, float]:
    """How far recent breaks extend the next forecast's interval (log units, down and up; forecasting.conformal):
    the latest miss, when it was a break, on its own side; the `before` misses preceding it, where they were
    breaks, on both sides (after a break the next periods may overshoot either way); and when at least
    COMMON_SHOCK_SHARE of the backtest's other series (its peers, casebook.miss_series) broke in their latest
    period — a common shock, as in March 2020 — the median size of their breaks on both sides, for a series that
    has not (yet) broken too."""
    down, up = _common_shock(bt, series_id, freq, as_of)
    got = _at(bt, series_id, freq, as_of)
    if got is None:
        return down, up
    _, _, m, _, latest, _, kinds, j = got
    if kinds[j] not in (None, "ordinary"):
        down, up = (-m[j], 0.0) if m[j] < 0 else (0.0, m[j])
    k = j
    for _ in range(before):
        k = latest[k]
        if k < 0:
            break
        if kinds[k] not in (None, "ordinary"):
            down, up = max(down, abs(m[k])), max(up, abs(m[k]))
    return float(down), float(up)


def _common_shock(bt: pd.DataFrame, series_id: str, freq: str, as_of: dt.date) -> tuple[float, float]:
    sizes, n = [], 0
    for sid, got in _misses(bt[bt["unique_id"] != series_id], freq, as_of).items():
        at = _at(bt, sid, freq, as_of, got)
        if at is None:
            continue
        n += 1
        m, kinds, j = at[2], at[6], at[7]
        if kinds[j] != "ordinary":
            sizes.append(abs(float(m[j])))
    if not n or len(sizes) < COMMON_SHOCK_SHARE * n:
        return 0.0, 0.0
    size = float(np.median(sizes))
    return size, size


def learn_shares(bt: pd.DataFrame, freq: str, as_of: dt.date) -> dict[str, Share]:
    """The share of a miss carried, per kind of break, from every past (latest miss, next miss) pair of the
    backtest's series whose next miss was known by as_of."""
    pairs: dict[str, list[tuple[float, float, np.datetime64]]] = {k: [] for k in KINDS}
    for origins, known, m, _ in _misses(bt, freq, as_of).values():
        latest, _, kinds = _states(origins, known, m)
        for i, j in enumerate(latest):
            if j >= 0 and kinds[j] is not None:
                pairs[kinds[j]].append((float(m[j]), float(m[i]), origins[i]))
    out = {"ordinary": Share("ordinary", 0.0, len(pairs["ordinary"]), None)}
    for kind in KINDS[1:]:
        rows = pairs[kind]
        if not rows:
            out[kind] = Share(kind, PRIOR_SHARE, 0, None)
            continue
        x = np.array([r[0] for r in rows])
        y = np.array([r[1] for r in rows])
        sxy, sxx = float(x @ y), float(x @ x)
        share = (sxy + PRIOR_WEIGHT * PRIOR_SHARE) / (sxx + PRIOR_WEIGHT)
        dates = sorted(r[2] for r in rows)
        out[kind] = Share(kind, min(max(share, 0.0), 1.0), len(rows), sxy / sxx if sxx > 0 else None,
                          pd.Timestamp(dates[0]).date(), pd.Timestamp(dates[-1]).date())
    return out


def break_text(miss: Miss, freq: str) -> str | None:
    """The answer's warning when the latest miss was a break (None otherwise)."""
    if miss.kind == "ordinary":
        return None
    label = f"{miss.period[0]:%Y-%m}" if freq.startswith("M") else f"the period from {miss.period[0]}"
    return (f"break: {label} came in {miss.pct:+.0f} % against what the baseline method expected at the time "
            f"(usual miss ±{100 * miss.scale:.0f} %); the statistical baseline may not have absorbed it yet — treat "
            "the baseline and its interval with caution")


def carried_pct(miss: Miss, shares: dict[str, Share]) -> float:
    """The change proposed for the next period: the learned share of the latest log miss."""
    return 100.0 * math.expm1(shares[miss.kind].share * miss.log_miss)
