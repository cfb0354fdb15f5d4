"""The evaluation grid: which (series, origin) cells a suite scores, and their baselines, computed in bulk.

Baselines come from StatsForecast `cross_validation` on the whole panel, one call per *block* of `refit_every`
consecutive origins: the models are fitted on the last `train_window` periods up to the block's first origin, then
the later origins of the block reuse those parameters through `forward` over data from the same first period up
to each origin (so seasonal states keep their phase, as forecasting.backtest does). No fit or forward pass sees a
period that ends after its origin; each block is written to its own Parquet part, so an interrupted run resumes.
Members are combined by the same function `forecasting.baseline.forecast_period` uses,
`forecasting.combine.combine_members` (median of member totals and of each bound, each distinct forecast once; a
member that failed on a series shows as ``AutoARIMA→SeasonalNaive``, one with non-finite bounds is left out), and a
period of several steps is summed with `forecasting.intervals.period_sum`. Per cell, ``<member>:<value>`` holds
what ran for that member (the fallback's forecast where it stood in), ``combined:<value>`` the combination, and
``baseline_model`` / ``baseline_members`` (JSON) / ``baseline_warnings`` say what the combination counted and why.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Callable, cast

import numpy as np
import pandas as pd

from trendcast.eval.errors import SuiteError
from trendcast.eval.suite import COMBINED, Suite
from trendcast.forecasting.combine import VALUES  # light: numpy and forecasting.constants only
from trendcast.forecasting.constants import BOUNDS


def select_series(series: pd.DataFrame, suite: Suite) -> pd.DataFrame:
    """The suite's series from the store's series table, sorted by id."""
    sel = suite.series
    table = series if not sel.dataset else series[series["dataset"] == sel.dataset]
    if sel.levels or sel.ids:
        table = table[table["level"].isin(sel.levels) | table["unique_id"].isin(sel.ids)]
    table = table[~table["unique_id"].isin(sel.exclude)].sort_values("unique_id", ignore_index=True)
    missing = sorted(set(sel.ids) - set(series["unique_id"]))
    if missing:
        raise SuiteError(f"suite {suite.name!r}: series {', '.join(missing)} not in the workspace")
    if sel.limit:
        table = table.head(sel.limit)
    if table.empty:
        raise SuiteError(f"suite {suite.name!r}: no series match (dataset={sel.dataset}, levels={sel.levels}, "
                         f"ids={sel.ids}); see `trendcast series`")
    freqs = table["freq"].unique()
    if len(freqs) > 1:
        raise SuiteError(f"suite {suite.name!r}: the series mix frequencies ({', '.join(freqs)}); select one")
    return table


def plan_grid(panel: pd.DataFrame, freq: str, origins: list[dt.date], horizon: str, min_obs: int
              ) -> tuple[pd.DataFrame, dict[str, str]]:
    """One row per cell that can be scored: unique_id, origin, cutoff (last observed ds), period_start, period_end,
    steps (forecast steps to the period's end), mask (which of them fall in the period), actual, last (total of the
    same number of steps up to the cutoff). Series that cannot be scored at every origin are left out, with why."""
    from trendcast.forecasting.comparisons import last_steps
    from trendcast.forecasting.history import observed
    from trendcast.forecasting.periods import resolve_period, steps_in_period

    rows, excluded = [], {}
    for uid, g in panel.groupby("unique_id", sort=True):
        g = g.dropna(subset=["y"])
        ds = pd.DatetimeIndex(g["ds"])
        grid = pd.date_range(ds[0], ds[-1], freq=freq)
        y = pd.Series(g["y"].to_numpy("float64"), index=ds)
        cells, why = [], None
        for origin in origins:
            seen = observed(g, freq, origin)  # the one clock: periods ended by the origin
            n = len(seen)
            if n < min_obs:
                why = f"only {n} observations by origin {origin} (need {min_obs})"
                break
            cutoff = ds[n - 1]
            period = resolve_period(horizon, origin, freq)
            h, mask = steps_in_period(cutoff, freq, period)
            future = pd.date_range(cutoff, periods=h + 1, freq=freq)[1:][mask]
            if not future.isin(ds).all():
                why = f"no actual for {period.label} (origin {origin})"
                break
            last = last_steps(seen, freq, period, origin)  # the answer's own "vs last period"
            rows_before = grid[grid <= cutoff]
            if len(rows_before) != n:
                why = f"missing periods before origin {origin} (the bulk backtest needs a gap-free series)"
                break
            cells.append((uid, pd.Timestamp(origin), cutoff, pd.Timestamp(period.start), pd.Timestamp(period.end),
                          h, tuple(bool(m) for m in mask), float(y.loc[future].sum()),
                          last.total if last is not None else float("nan")))
        if why:
            excluded[str(uid)] = why
        else:
            rows += cells
    cols = ["unique_id", "origin", "cutoff", "period_start", "period_end", "steps", "mask", "actual", "last"]
    return pd.DataFrame(rows, columns=cols), excluded


def blocks(origins: list[dt.date], refit_every: int) -> list[list[dt.date]]:
    return [origins[i:i + refit_every] for i in range(0, len(origins), refit_every)]


def baseline_block(panel: pd.DataFrame, grid: pd.DataFrame, block: list[dt.date], freq: str, models: list[str],
                   train_window: int, n_jobs: int, session=None, calendar: bool = False) -> pd.DataFrame:
    """Baselines of the grid's cells at the block's origins: one cross_validation call, fit at the first origin;
    on `session`'s engine (forecasting.distributed) when it is a distributed one, same numbers.

    `calendar`: the members see each series divided by its calendar factors and their forecasts are multiplied back
    (forecasting.calendar_effects, as forecast_period(calendar=True) does), the effects learned — and kept or not —
    from each series' data up to the block's first cutoff, like the models' own parameters."""
    from trendcast.forecasting.combine import forecast_models
    from trendcast.forecasting.frequency import season_length
    from trendcast.forecasting.models import plan_models

    cells = grid[grid["origin"].isin(pd.to_datetime(block))]
    cutoffs = sorted(cells["cutoff"].unique())
    first, last = pd.Timestamp(cutoffs[0]), pd.Timestamp(cutoffs[-1])
    h = int(cells["steps"].max())
    step = _spacing(cutoffs, freq)
    start = first - (train_window - 1) * pd.tseries.frequencies.to_offset(freq)
    end = last + h * pd.tseries.frequencies.to_offset(freq)
    df = _pad_to(panel[(panel["ds"] >= start) & (panel["ds"] <= end) & panel["unique_id"].isin(cells["unique_id"])],
                 end, freq)
    effects: dict = {}
    if calendar:
        from trendcast.forecasting.calendar_effects import adjust_panel

        df, effects = adjust_panel(df, {uid: first for uid in cells["unique_id"].unique()}, freq)
    n_min = int(df[df["ds"] <= first].groupby("unique_id").size().min())
    fitted, fallback, _ = plan_models(models, n_min, season_length(freq))
    if len(fitted) != len(models):
        raise SuiteError(f"only {n_min} observations by {first.date()}: too few for {', '.join(models)}")
    guarded, names, fb = forecast_models(fitted, fallback)
    from trendcast.forecasting.baseline import captured_warnings
    from trendcast.forecasting.distributed import Session, cross_validation

    with captured_warnings([]):  # numpy's divide-by-zero on short series: not for the terminal (workers: trendcast.common.processes)
        # local: n_jobs processes of forecasting.pooled (workers that die with this process); else the engine's
        local = session is None or not session.distributed
        cv = cross_validation(guarded, freq, df, Session("local", n_jobs) if local else session, h=h,
                              n_windows=len(cutoffs), step_size=step, refit=False, level=[80, 95])
    columns = [g.alias for g in guarded]
    if effects:  # back to sales: each forecast row times its month's calendar factor
        cv = cv.reset_index() if "unique_id" not in cv.columns else cv.copy()
        scale = np.ones(len(cv))
        for uid, effect in effects.items():
            rows = (cv["unique_id"] == uid).to_numpy()
            scale[rows] = effect.factors(cv.loc[rows, "ds"])
        out_cols = [c for c in cv.columns if any(c == a or c.startswith(f"{a}-") for a in columns)]
        cv[out_cols] = cv[out_cols].to_numpy("float64") * scale[:, None]
    return _period_totals(cells, cv, names, fb, columns)


def _pad_to(df: pd.DataFrame, end: pd.Timestamp, freq: str) -> pd.DataFrame:
    """Rows with y = NaN after each series' last row up to `end`: cross_validation places its cutoffs counting back
    h steps from each series' end, so a block whose longest period runs past the data (weekly data, a month ahead
    from origins 4 and 7 weeks before the last week) would otherwise get shifted cutoffs. The padding is never
    trained on (every cutoff is an observed period) and its NaN actuals are never scored."""
    off = pd.tseries.frequencies.to_offset(freq)
    pads = []
    for uid, last in df.groupby("unique_id")["ds"].max().items():
        if last < end:
            ds = pd.date_range(last + off, end, freq=freq)
            if len(ds):
                pads.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": np.nan}))
    return pd.concat([df, *pads], ignore_index=True) if pads else df


def _spacing(cutoffs: list, freq: str) -> int:
    if len(cutoffs) == 1:
        return 1
    grid = pd.date_range(cutoffs[0], cutoffs[-1], freq=freq)
    pos = grid.get_indexer(pd.DatetimeIndex(cutoffs))
    steps = set(np.diff(pos))
    if len(steps) != 1 or -1 in pos:
        raise SuiteError("origins must be evenly spaced in the data's periods")
    return int(steps.pop())


def _period_totals(cells: pd.DataFrame, cv: pd.DataFrame, names: list[str], fallback: str | None,
                   columns: list[str]) -> pd.DataFrame:
    """Per cell and member: period total and 80/95 % bounds of what ran; then forecast_period's combination."""
    from trendcast.forecasting.combine import combine_members
    from trendcast.forecasting.intervals import period_sum

    by = {k: g.sort_values("ds") for k, g in cv.groupby(["unique_id", "cutoff"], sort=False)}
    out = []
    for cell in cells.itertuples(index=False):
        g = by[(cell.unique_id, cell.cutoff)].head(cast(int, cell.steps))
        mask = np.asarray(cell.mask)
        results = {c: period_sum(g[c].to_numpy("float64"),
                                 {b: g[f"{c}-{b.replace('_', '-')}"].to_numpy("float64") for b in BOUNDS}, mask)
                   for c in columns}
        combo = combine_members(names, fallback, results)
        row = {"unique_id": cell.unique_id, "origin": cell.origin}
        for name in names:  # a member left out keeps its own (non-finite) values
            row.update({f"{name}:{k}": results[combo.ran.get(name, name)][k] for k in VALUES})
        row.update({f"{COMBINED}:{k}": combo.values[k] for k in VALUES})
        row.update(baseline_model=combo.label, baseline_members=json.dumps(combo.members, ensure_ascii=False),
                   baseline_warnings="; ".join(combo.warnings))
        out.append(row)
    return pd.DataFrame(out)


def compute_baselines(panel: pd.DataFrame, grid: pd.DataFrame, suite: Suite, freq: str, parts_dir: Path,
                      progress: Callable[[int], None] | None = None, session=None) -> pd.DataFrame:
    """All cells' baselines, block by block; a block already written under `parts_dir` is read back. `session`:
    the engine the blocks' cross_validation runs on (forecasting.distributed.engine_session; None: local)."""
    from trendcast.forecasting.frequency import default_train_window

    b = suite.baseline
    window = b.train_window or default_train_window(freq)
    frames = _cached_blocks(parts_dir, grid, b.refit_every, lambda block: baseline_block(
        panel, grid, block, freq, b.models, window, suite.n_jobs, session), progress)
    base = pd.concat(frames, ignore_index=True)
    if b.calendar:
        base = base.merge(_calendar_baselines(panel, grid, suite, freq, parts_dir / "calendar", window, session),
                          on=["unique_id", "origin"], how="left", validate="one_to_one")
    return grid.merge(base, on=["unique_id", "origin"], how="left", validate="one_to_one")


def _cached_blocks(parts_dir: Path, grid: pd.DataFrame, refit_every: int,
                   make: Callable[[list], pd.DataFrame], progress=None) -> list[pd.DataFrame]:
    """`make(block)` for each block of origins, each written under `parts_dir` as it is made and read back on a
    resumed run."""
    parts_dir.mkdir(parents=True, exist_ok=True)
    frames = []
    origins = sorted(pd.Timestamp(o).date() for o in grid["origin"].unique())
    for block in blocks(origins, refit_every):
        part = parts_dir / f"{block[0].isoformat()}.parquet"
        if part.exists():
            frames.append(pd.read_parquet(part))
        else:
            frame = make(block)
            write_parquet(frame, part)
            frames.append(frame)
        if progress:
            progress(len(block))
    return frames


def _calendar_baselines(panel, grid, suite: Suite, freq: str, parts_dir: Path, window: int, session) -> pd.DataFrame:
    """The same cells' members and combination with calendar effects, as ``<name>+cal:<value>`` columns."""
    from trendcast.eval.suite import CALENDAR

    b = suite.baseline

    def block_frame(block) -> pd.DataFrame:
        frame = baseline_block(panel, grid, block, freq, b.models, window, suite.n_jobs, session, calendar=True)
        keep = [c for c in frame.columns if ":" in c]
        renamed = {c: c.replace(":", f"{CALENDAR}:", 1) for c in keep}
        return frame[["unique_id", "origin", *keep]].rename(columns=renamed)

    frames = _cached_blocks(parts_dir, grid, b.refit_every, block_frame)
    return pd.concat(frames, ignore_index=True)


def rolling_combined(base: pd.DataFrame, members: list[str], freq: str, target: str = COMBINED) -> pd.DataFrame:
    """`combined:*` chosen by the members' rolling past accuracy (forecasting.combine.pick_by_record): at each
    origin, the mean of the members with the lowest mean |log error| over the last ROLLING_ORIGINS origins whose
    outcomes were observed by then; the median combination stands where no earlier outcome is known yet."""
    from trendcast.forecasting.combine import ROLLING_ORIGINS, pick_by_record
    from trendcast.forecasting.periods import known_dates

    base = base.copy()
    known = pd.Series(pd.to_datetime(known_dates(base["period_start"], base["period_end"], freq)), index=base.index)
    with np.errstate(all="ignore"):
        err = {m: np.abs(np.log(base["actual"] / base[f"{m}:total"])) for m in members}
    origins = sorted(base["origin"].unique())
    for i, origin in enumerate(origins):
        recent = origins[max(0, i - ROLLING_ORIGINS):i]
        past = base["origin"].isin(recent) & (known <= origin) & base["actual"].notna()
        if not past.any():
            continue
        chosen = pick_by_record({m: float(err[m][past].mean()) for m in members})
        now = base["origin"] == origin
        for k in VALUES:
            vals = base.loc[now, [f"{m}:{k}" for m in chosen]]
            base.loc[now, f"{target}:{k}"] = vals.mean(axis=1, skipna=True).where(vals.notna().any(axis=1),
                                                                                 base.loc[now, f"{target}:{k}"])
        if target == COMBINED:
            base.loc[now, "baseline_model"] = (f"Ensemble(mean of {','.join(chosen)}: lowest error over the last "
                                               f"{len(recent)} known origins)")
    return base


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write atomically: a part that exists is complete."""
    tmp = path.with_name(path.name + ".tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
