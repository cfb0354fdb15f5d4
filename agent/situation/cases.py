"""Past situations with known outcomes: the few-shot examples of the LLM prompt and the analog adjuster's memory.

A case is (series, origin): the cheap backtest baseline for the horizon's period as seen at the origin, the realised
actual, and the news climate at the origin. Only cases whose whole outcome period ends on or before as-of qualify,
their baselines are fitted on data up to their origin, and their evidence is dated on or before their origin — so
nothing after as-of can reach a prompt through them.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trendcast.forecasting.frequency import period_ends
from trendcast.forecasting.periods import Period, known_by, known_dates, relative_horizon, resolve_period

W_CONTEXT, W_SERIES, W_MOMENTUM = 0.6, 0.25, 0.15


@dataclass
class PastCase:
    series_id: str
    name: str
    origin: dt.date
    period: Period
    baseline: float
    actual: float
    similarity: float = 0.0
    evidence: list = field(default_factory=list)  # retrieval Hits dated on or before origin

    @property
    def log_ratio(self) -> float:
        return math.log(self.actual / self.baseline)

    @property
    def right_change_pct(self) -> float:
        """The adjustment that would have been right: actual vs baseline, in percent."""
        return 100.0 * (self.actual / self.baseline - 1.0)


def origins_before(as_of: dt.date, horizon: str, freq: str, lookback: int) -> list[dt.date]:
    """Past origins, newest first, whose whole outcome period — its last step included — ended by as_of."""
    return list(_origins_before(as_of, horizon, freq, lookback))


@functools.lru_cache(maxsize=256)  # a pure function of its arguments; a report over a chain asks it per target
def _origins_before(as_of: dt.date, horizon: str, freq: str, lookback: int) -> tuple[dt.date, ...]:
    h = relative_horizon(horizon)
    out = []
    for i in range(1, lookback + 1):
        if h == "next-week":
            o = as_of - dt.timedelta(weeks=i)
        elif freq.startswith("M"):
            o = (pd.Timestamp(as_of) + pd.offsets.MonthEnd(0) - pd.offsets.MonthEnd(i)).date()
        else:
            o = (pd.Timestamp(as_of) - pd.DateOffset(months=i)).date()
        if known_by(resolve_period(h, o, freq), freq) <= as_of:
            out.append(o)
    return tuple(out)


def related_series(series: pd.DataFrame, target_id: str, n: int) -> list[str]:
    """The target, then its siblings, parent and children (same frequency), up to n series."""
    row = series.set_index("unique_id").loc[target_id]
    same = series[series["freq"] == row["freq"]]
    parent = row.get("parent_id")
    order = [target_id]
    if isinstance(parent, str) and parent:
        order += same.loc[same["parent_id"] == parent, "unique_id"].tolist() + [parent]
    order += same.loc[same["parent_id"] == target_id, "unique_id"].tolist()
    seen, out, known = set(), [], set(same["unique_id"])
    for sid in order:
        if sid not in seen and sid in known:
            seen.add(sid)
            out.append(sid)
    return out[:n]


def _momentum(series: tuple[np.ndarray, np.ndarray], at: dt.date, freq: str) -> float:
    """log(last 3 periods / the same periods a year earlier) over the periods ended by `at` — a cheap series-state
    feature. `series` is (period ends as datetime64 sorted, y)."""
    ends, y = series
    end = int(np.searchsorted(ends, np.datetime64(at), side="right"))
    lag = 12 if freq.startswith("M") else 52 if freq.startswith("W") else 364
    n = 3 if freq.startswith("M") else 13 if freq.startswith("W") else 90
    if end < lag + n:
        return 0.0
    y = y[:end]
    now, then = y[-n:].sum(), y[-n - lag:-lag].sum()
    return math.log(now / then) if now > 0 and then > 0 else 0.0


def find_cases(*, target, series: pd.DataFrame, panel: pd.DataFrame, as_of: dt.date, horizon: str,
               backtests: pd.DataFrame, context_at, now_context: np.ndarray | None, n_evidence: int = 3
               ) -> list[PastCase]:
    """Score every backtested (series, origin) by similarity to the current situation; best first.

    `panel`: the related series as observed by as_of (forecasting.history.observed); `backtests`:
    forecasting.backtest_situations output for them — only cases whose outcome was observed by as_of are kept;
    `context_at(origin) -> (mean_vector | None, hits)` gives the news climate at an origin (as-of that origin)."""
    names = series.set_index("unique_id")["name"].astype(str).to_dict()
    parents = series.set_index("unique_id")["parent_id"].to_dict()
    freq = target.freq
    hist_by = {sid: (period_ends(g["ds"], freq).to_numpy(dtype="datetime64[ns]"), g["y"].to_numpy(dtype=float))
               for sid, g in panel.sort_values("ds").groupby("unique_id")}
    now_m = _momentum(hist_by[target.series_id], as_of, freq) if target.series_id in hist_by else 0.0
    ctx_cache: dict[dt.date, tuple] = {}
    ok = backtests.dropna(subset=["baseline", "actual"])
    ok = ok[(ok["baseline"] > 0) & (ok["actual"] > 0)]
    ok = ok.loc[known_dates(ok["period_start"], ok["period_end"], freq) <= np.datetime64(as_of)]
    rows, ctx_sims = [], []
    row: Any  # a pandas named tuple: its fields' types are the columns', which the stubs cannot know
    for row in ok.itertuples(index=False):
        origin = pd.Timestamp(row.origin).date()
        if origin not in ctx_cache:
            ctx_cache[origin] = context_at(origin)
        vec = ctx_cache[origin][0]
        rows.append((row, origin))
        ctx_sims.append(float(np.dot(vec, now_context)) if vec is not None and now_context is not None else 0.0)
    # News climates all look alike in absolute cosine (~0.7-0.9): rescale over the candidates so that the origins
    # whose news most resembles today's stand out.
    sims = np.asarray(ctx_sims)
    span = float(sims.max() - sims.min()) if len(sims) else 0.0
    ctx_scaled = (sims - sims.min()) / span if span > 1e-9 else np.zeros_like(sims)
    cases = []
    for (row, origin), ctx_sim in zip(rows, ctx_scaled):
        hits = ctx_cache[origin][1]
        sid = str(row.unique_id)
        if sid == target.series_id:
            ser_sim = 1.0
        elif parents.get(sid) == target.series_id or parents.get(target.series_id) in (sid, parents.get(sid)):
            ser_sim = 0.6
        else:
            ser_sim = 0.3
        m = _momentum(hist_by[sid], origin, freq) if sid in hist_by else 0.0
        mom_sim = math.exp(-abs(m - now_m) / 0.1)
        sim = W_CONTEXT * float(ctx_sim) + W_SERIES * ser_sim + W_MOMENTUM * mom_sim
        cases.append(PastCase(sid, names.get(sid, sid), origin,
                              Period(pd.Timestamp(row.period_start).date(), pd.Timestamp(row.period_end).date()),
                              float(row.baseline), float(row.actual), sim, list(hits[:n_evidence])))
    cases.sort(key=lambda c: -c.similarity)
    return cases


def pick_examples(cases: list[PastCase], n: int) -> list[PastCase]:
    """The n most similar cases, preferring distinct origins so examples are not n copies of one month."""
    first: list[PastCase] = []
    rest: list[PastCase] = []
    seen: set[dt.date] = set()
    for c in cases:
        (rest if c.origin in seen else first).append(c)
        seen.add(c.origin)
    return (first + rest)[:n]


def closest(cases: list[PastCase], n: int) -> list[PastCase]:
    """The n most similar cases with distinct origins: the closest past situations named to people, where one
    month twice (two series at the same origin) would read as a repeat."""
    out, seen = [], set()
    for c in cases:
        if c.origin not in seen:
            seen.add(c.origin)
            out.append(c)
            if len(out) == n:
                break
    return out
