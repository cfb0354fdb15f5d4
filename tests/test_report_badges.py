"""Reports that don't hide risk, on hand-made Answers: badges follow the warnings' codes, the movers rank on the
adjusted forecast and mark the break-flagged ones, and the HTML stays small per category (inline SVG charts)."""
from __future__ import annotations

import datetime as dt

from test_report_render import AS_OF, make_answer, make_entry

from trendcast.agent.answer.model import EvidenceOut
from trendcast.agent.report import output
from trendcast.agent.report.build import badge_counts
from trendcast.agent.report.charts import chart_svg
from trendcast.agent.report.model import BADGES, Report, RunStats, warning_badges
from trendcast.agent.report.render import render_html, render_markdown
from trendcast.agent.warning_codes import WarningOut

BREAK = WarningOut(code="break", message="March 2020 came in -58.2 % against the backtest baseline: a new break")
STALE = WarningOut(code="stale_as_of", message="as-of 2025-01-31 is 40 months past the data's last period")
CLIPPED = WarningOut(code="interval_clipped", message="lower bounds clipped at zero")


def entry(sid, name, change, warnings=(), base_change=None, source="carry"):
    a = make_answer(sid, name, change, source=source)
    update = {"warnings": list(warnings)}
    if base_change is not None:  # the baseline's own change vs the last period (1000.0)
        t = 1000.0 * (1 + base_change / 100)
        update["baseline"] = a.baseline.model_copy(update={"total": t, "lo_80": t * .9, "hi_80": t * 1.1,
                                                           "lo_95": t * .8, "hi_95": t * 1.2})
    a = a.model_copy(update=update)
    badges = warning_badges(a.warnings)
    e = make_entry(a, status=next((b for b in BADGES if b in badges), "ok"))
    return e


def make_report(entries, top_n=3) -> Report:
    counts = badge_counts(entries)
    return Report(title="Weekly trend report 2020-W14", week="2020-W14", as_of=AS_OF, horizon="next-month",
                  selection="level 4-digit", adjuster="carry", generated_at=dt.datetime(2020, 4, 6, 6, 0),
                  entries=entries, stats=RunStats(categories=len(entries), ok=counts["ok"], badges=counts,
                                                  fallbacks=counts["fallback"], failed=counts["failed"]),
                  top_n=top_n)


def test_badges_follow_warning_codes():
    assert warning_badges([BREAK]) == ["break"]
    assert warning_badges([CLIPPED, STALE, BREAK]) == ["stale", "break"]
    assert warning_badges([WarningOut(code="series_stopped", message="stopped 2018-02")]) == ["stale"]
    assert warning_badges([WarningOut(code="fallback", message="fell back to carry")]) == ["fallback"]
    assert warning_badges([CLIPPED, WarningOut(code="no_index", message="no index")]) == []
    assert warning_badges(["plain text warning"]) == []  # no code: no badge (and no crash)
    e = entry("4481", "Clothing stores", 7.6, [BREAK, STALE])
    assert (e.status, e.badges) == ("stale", ["stale", "break"])


def test_break_flagged_categories_are_not_badged_ok_and_counted():
    rep = make_report([entry("4481", "Clothing stores", 7.6, [BREAK]), entry("7224", "Drinking places", 9.7, [STALE]),
                       entry("4453", "Beer, wine and liquor stores", -12.3, [CLIPPED])])
    assert rep.stats.badges == {"ok": 1, "failed": 0, "fallback": 0, "stale": 1, "break": 1}
    html = render_html(rep)
    summary = html.split('<table class="summary">')[1].split("</table>")[0]
    rows = {name: r for r in summary.split("<tr") for name in ("Clothing", "Drinking", "Beer") if f">{name}" in r}
    assert '<span class="badge break">break</span>' in rows["Clothing"] and "badge ok" not in rows["Clothing"]
    assert '<span class="badge stale">stale</span>' in rows["Drinking"] and "badge ok" not in rows["Drinking"]
    assert '<span class="badge ok">ok</span>' in rows["Beer"]
    assert "Numbers at risk: 1 of 3 categor" in html and "(break)" in html  # the warning's code beside it
    md = render_markdown(rep)
    summary = md.split("## Summary")[1].split("## Biggest movers")[0]
    assert "Status: ok 1 · stale 1 · break 1" in summary
    assert [r.rsplit(" | ", 1)[1] for r in summary.splitlines() if r.startswith("| ") and r[2].isdigit()] == [
        "stale |", "break |", "ok |"]  # sorted by forecast change: 9.7, 7.6, -12.3 (status last)
    assert "1 ok, 1 break, 1 stale" in md


def test_movers_rank_on_the_adjusted_forecast_not_the_baseline_and_mark_breaks():
    # clothing's baseline doubles back after a collapsed March (+107.6 %), the adjusted forecast says +7.6 %
    rep = make_report([entry("4481", "Clothing stores", 7.6, [BREAK], base_change=107.6),
                       entry("4441", "Building materials", 10.6, base_change=10.6),
                       entry("4482", "Shoe stores", 1.2, [BREAK], base_change=75.2)], top_n=2)
    up, _ = rep.movers()
    assert [e.series_id for e in up] == ["4441", "4481"] and rep.movers_up == ["4441", "4481"]
    assert round(up[1].baseline_change(), 1) == 107.6 and up[1].change() == 7.6
    html = render_html(rep)
    movers = html.split('id="movers"')[1].split('id="categories"')[0]
    assert movers.index("Building materials") < movers.index("Clothing stores") and "Shoe stores" not in movers
    clothing = movers.split("Clothing stores")[1].split('<div class="mover">')[0]
    assert '<span class="badge break">break</span>' in clothing and "baseline +107.6 %" in clothing
    md = render_markdown(rep).split("## Biggest movers")[1].split("## Categories")[0]
    assert "**Clothing stores** (break) +7.6 % vs last period" in md and "baseline +107.6 %" in md


def busy_entry(i: int):
    """A category as a real report shows it: 36 months of history, 8 cited headlines, a long rationale, two
    warnings."""
    e = entry(f"{4400 + i}", f"Category number {i} stores", (i % 40) - 20.0, [BREAK, CLIPPED])
    a = e.answer
    hist = [(dt.date(2017 + m // 12, m % 12 + 1, 1), 1000.0 + 37 * ((m * 7) % 13)) for m in range(3, 39)]
    ev = [EvidenceOut(id=f"D{i}{k}", date=dt.date(2020, 3, 1 + k), kind="news", source="guardian",
                      text=f"Headline {k} about shoppers, closures and stockpiling " * 3, score=0.5) for k in range(8)]
    a = a.model_copy(update={"evidence": ev, "history": a.history.model_copy(update={"recent": hist}),
                             "adjustment": a.adjustment.model_copy(update={"rationale": "Because. " * 70})})
    return e.model_copy(update={"answer": a, "chart": e.chart.model_copy(update={"history": hist})})


def test_html_stays_small_per_category(tmp_path):
    """The bound that keeps a 3,000-series report openable: < 10 kB of HTML per category, charts included (the
    demo report as of 2020-03-31 measured 6.0 kB per category over 65; its PNG charts made it 51 kB)."""
    n = 60
    rep = make_report([busy_entry(i) for i in range(n)])
    folder = output.write_report(rep, tmp_path, ("html", "md"))
    html = (folder / "report.html").read_text()
    assert html.count('<svg class="chart"') == n
    per_category = len(html.encode()) / n
    svg = len(str(chart_svg(rep.entries[0])).encode())
    print(f"HTML {per_category:,.0f} bytes per category, of which the chart {svg:,} bytes")
    assert per_category < 10_000 and svg < 2_500
    assert len(list((folder / "charts").glob("*.svg"))) == n


def test_a_tiny_departments_huge_change_is_not_a_mover():
    """Over a chain a department that sold 7.50 last month and is forecast at 3,952 (+52,000 %) tops any ranking by
    change: the movers and each parent's biggest mover skip entries whose last period is under 5 % of the report's
    median last period (agent.report.rollup.material); the summary still lists it."""
    import pandas as pd

    from trendcast.agent.report.rollup import material_floor, rollup

    tiny = entry("S1/D59", "Store 1 / Dept 59", 52_000.0)
    h = tiny.answer.history.model_copy(update={"last_period_total": 7.5})
    tiny = tiny.model_copy(update={"answer": tiny.answer.model_copy(update={"history": h})})
    big = [entry("S1/D1", "Store 1 / Dept 1", 12.0), entry("S1/D2", "Store 1 / Dept 2", -8.0),
           entry("S1/D3", "Store 1 / Dept 3", 3.0)]
    rep = make_report([tiny, *big], top_n=3)
    assert material_floor(rep.entries) == 0.05 * 1000.0
    assert rep.movers_up == ["S1/D1", "S1/D3"] and rep.movers_down == ["S1/D2"]
    assert rep.ranking[0] == "S1/D59"  # the summary is every category, by change
    series = pd.DataFrame({"unique_id": ["S1/D59", "S1/D1", "S1/D2", "S1/D3", "S1"],
                           "parent_id": ["S1"] * 4 + [None], "name": ["d"] * 4 + ["Store 1"],
                           "level": ["Dept"] * 4 + ["Store"]})
    (row,) = rollup(rep.entries, series)
    assert row.top_mover == "S1/D1" and row.categories == 4
