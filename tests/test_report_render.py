"""Report rendering on hand-made Answers: ordering, movers, badges, escaping (HTML and Markdown), JSON, atomic
folders (a new one per run), inline SVG charts, and (where Chromium is installed) a headless screenshot of the
HTML."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import time

import pytest

from trendcast.forecasting.baseline import BaselineForecast
from trendcast.agent.answer.model import (AdjustmentOut, Answer, EvidenceOut, ForecastOut, HistoryOut, PeriodOut,
                          TargetOut)
from trendcast.agent.report import output
from trendcast.agent.report.charts import chart_svg, compact
from trendcast.agent.report.model import ChartData, Entry, PerStep, Report, RunStats
from trendcast.agent.report.render import render_html, render_markdown
from trendcast.agent.warning_codes import WarningOut

SCRIPT = "<script>alert(1)</script>"
AS_OF = dt.date(2020, 3, 31)


def make_answer(sid: str, name: str, change: float, *, source="llm", headline="Retail footfall slumps",
                rationale="Lockdowns close stores.") -> Answer:
    last = 1000.0
    total = last * (1 + change / 100)
    base = total / 1.05
    hist = [(dt.date(2019 + (m - 1) // 12, (m - 1) % 12 + 1, 1), 900.0 + 10 * (m % 12)) for m in range(4, 16)]
    return Answer(
        question=f"how will {name} trend?", target=TargetOut(series_id=sid, name=name, level="3-digit",
                                                             resolved_by="level"),
        as_of=AS_OF, period=PeriodOut(start=dt.date(2020, 4, 1), end=dt.date(2020, 4, 30)), horizon="next-month",
        unit="millions of USD",
        history=HistoryOut(last_period_total=last, same_period_last_year=950.0, recent=hist),
        baseline=BaselineForecast(model="AutoETS", total=base, lo_80=base * 0.9, hi_80=base * 1.1, lo_95=base * 0.8,
                             hi_95=base * 1.2),
        adjustment=AdjustmentOut(source=source, model="qwen-test" if source == "llm" else "analog(k=8)",
                                 prompt="few-shot@1", pct=5.0, direction="up", confidence=0.7, rationale=rationale,
                                 evidence_ids=["D1"], drivers=[{"evidence_id": "D1", "effect": "down",
                                                                "note": "stores <b>closed</b>"}]),
        forecast=ForecastOut(total=total, lo_80=total * 0.9, hi_80=total * 1.1, lo_95=total * 0.8,
                             hi_95=total * 1.2, change_vs_last_period_pct=change,
                             change_vs_last_year_pct=100 * (total / 950 - 1), direction="up" if change > 1 else
                             "down" if change < -1 else "flat"),
        evidence=[EvidenceOut(id="D1", date=dt.date(2020, 3, 20), kind="news", source="cnbc", text=headline,
                              score=0.8),
                  EvidenceOut(id="D2", date=dt.date(2020, 3, 2), kind="news", source="guardian",
                              text="Shoppers stock up", score=0.5)],
        warnings=[] if source == "llm" else [
            WarningOut(code="fallback", message="LLM adjustment failed, fell back to analog: http 500")])


def make_entry(answer: Answer, status="ok", error=None) -> Entry:
    b, f = answer.baseline, answer.forecast
    per = lambda x: PerStep(total=x.total, lo_80=x.lo_80, hi_80=x.hi_80, lo_95=x.lo_95, hi_95=x.hi_95)  # noqa
    return Entry(series_id=answer.target.series_id, name=answer.target.name, level="3-digit", freq="MS",
                 status=status, answer=answer, error=error,
                 chart=ChartData(steps_in_period=1, history=answer.history.recent, baseline=per(b), forecast=per(f)))


@pytest.fixture
def report() -> Report:
    entries = [
        make_entry(make_answer("441", "Motor vehicle & parts | dealers", -12.5)),
        make_entry(make_answer("445", "Food and beverage stores", 18.0, headline=f"Panic buying {SCRIPT}",
                               rationale=f"Hoarding <img src=x onerror=alert(2)> {SCRIPT}")),
        make_entry(make_answer("448", "Clothing stores", -40.0, source="analog"), status="fallback",
                   error="LLM adjustment failed, fell back to analog: http 500"),
        Entry(series_id="4411,4412", name="Auto dealers", level="4-digit", freq="MS", status="failed",
              error=f"ValueError: bad {SCRIPT}"),
    ]
    return Report(title="Weekly trend report 2020-W14", week="2020-W14", as_of=AS_OF, horizon="next-month",
                  selection="level 3-digit", adjuster="llm", model="qwen-test", prompt="few-shot@1",
                  generated_at=dt.datetime(2020, 4, 6, 6, 0, tzinfo=dt.timezone.utc), entries=entries,
                  stats=RunStats(categories=4, ok=2, fallbacks=1, failed=1, llm_requests=3, llm_calls=4,
                                 cache_hits=0, retries=1, concurrency=16, wall_s=3.2), top_n=2)


def test_summary_is_sorted_by_forecast_change_and_movers_split(report):
    assert [e.series_id for e in report.ranked()] == ["445", "441", "448", "4411,4412"]
    up, down = report.movers()
    assert [e.series_id for e in up] == ["445"]
    assert [e.series_id for e in down] == ["448", "441"]


def test_html_escapes_every_text_from_data_and_llm(report):
    html = render_html(report, {e.series_id: chart_svg(e) for e in report.entries})
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower() and "<img src=x" not in html
    assert "stores &lt;b&gt;closed&lt;/b&gt;" in html
    assert "Motor vehicle &amp; parts | dealers" in html
    assert "default-src 'none'" in html  # no network, no script, even if something slipped through
    assert html.count('<svg class="chart"') == 3 and "data:image" not in html  # failed category: no chart
    assert "http://" not in html and "https://" not in html


def test_markdown_escapes_text_and_links_charts(report):
    md = render_markdown(report, {"445": "charts/c2-445.svg"})
    assert SCRIPT not in md and r"\<script\>alert(1)\</script\>" in md
    assert r"Motor vehicle \& parts \| dealers" in md
    assert "![Food and beverage stores](charts/c2-445.svg)" in md
    summary = md.split("## Summary")[1].split("## Biggest movers")[0]
    rows = [r for r in summary.splitlines() if r.startswith("| ") and r[2].isdigit()]
    assert [r.split(" | ")[1].split("](")[0].lstrip("[") for r in rows] == [
        "Food and beverage stores", r"Motor vehicle \& parts \| dealers", "Clothing stores", "Auto dealers"]
    assert all(r.count(" | ") == rows[0].count(" | ") for r in rows)  # an escaped | never adds a column
    assert "cache hits 0, retries 1" in md and "1 fallbacks" in md


def test_json_holds_the_numbers_shown(report, tmp_path):
    folder = output.write_report(report, tmp_path, ("json",))
    data = json.loads((folder / "report.json").read_text())
    assert data["ranking"] == ["445", "441", "448", "4411,4412"]
    assert data["movers_up"] == ["445"] and data["movers_down"] == ["448", "441"]
    e = data["entries"][1]
    assert e["answer"]["forecast"]["change_vs_last_period_pct"] == 18.0
    assert e["chart"]["forecast"]["total"] == pytest.approx(1180.0)
    assert data["stats"]["fallbacks"] == 1 and data["stats"]["retries"] == 1
    assert Report.model_validate(data).entries[3].error.startswith("ValueError")


def test_each_run_gets_a_new_folder_unless_overwrite(report, tmp_path):
    folder = output.write_report(report, tmp_path)
    assert folder == tmp_path / "report-2020-W14"
    assert {p.name for p in folder.iterdir()} == {"report.md", "report.html", "report.json", "charts"}
    assert len(list((folder / "charts").glob("*.svg"))) == 3 and not list(folder.rglob("*.png"))
    (folder / "first.txt").write_text("first run")
    second = output.write_report(report, tmp_path)
    third = output.write_report(report, tmp_path, ("json",))
    assert (second, third) == (tmp_path / "report-2020-W14-2", tmp_path / "report-2020-W14-3")
    assert (folder / "first.txt").read_text() == "first run"  # the first run is kept
    replaced = output.write_report(report, tmp_path, ("json",), overwrite=True)
    assert replaced == folder and not (folder / "first.txt").exists() and (second / "report.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # no temp or old folders left
        "report-2020-W14", "report-2020-W14-2", "report-2020-W14-3"]


def test_crash_while_writing_leaves_no_half_report(report, tmp_path, monkeypatch):
    output.write_report(report, tmp_path, ("json",))
    before = (tmp_path / "report-2020-W14" / "report.json").read_text()

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("trendcast.agent.report.render.render_html", boom)
    with pytest.raises(RuntimeError):
        output.write_report(report, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["report-2020-W14"]
    assert (tmp_path / "report-2020-W14" / "report.json").read_text() == before


def test_leftovers_of_killed_runs_are_removed_once_stale(report, tmp_path):
    killed, running = tmp_path / ".report-2020-W13.tmp-abc", tmp_path / ".report-2020-W14.tmp-def"
    for p in (killed, running):
        (p / "charts").mkdir(parents=True)
    day_ago = time.time() - output.STALE_S - 60
    os.utime(killed, (day_ago, day_ago))
    output.write_report(report, tmp_path, ("json",))
    assert not killed.exists() and running.exists()


def test_chart_is_a_small_svg_and_failed_category_has_none(report):
    import xml.etree.ElementTree as ET

    svg = chart_svg(report.entries[0], standalone=True)
    root = ET.fromstring(str(svg))  # well-formed XML, as a standalone file needs
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and len(svg) < 3000
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert len(root.find("s:polyline", ns).get("points").split()) == len(report.entries[0].chart.history)
    assert root.find("s:rect", ns).get("fill") == "#edf2f7"  # the forecast period, drawn (screenshots find it)
    assert "xmlns" not in chart_svg(report.entries[0])  # inline: the HTML names no URL at all
    assert chart_svg(report.entries[3]) is None
    assert [compact(v) for v in (950, 7500, 12500, 2_500_000, -35000)] == ["950", "7,500", "12.5k", "2.5M", "-35k"]


def _first_vertical_run(mask, n: int):
    """The smallest y where some column holds n consecutive True pixels from y on (None: nowhere)."""
    import numpy as np

    run = np.zeros(mask.shape[1], dtype=int)
    for y, row in enumerate(mask):
        run = np.where(row, run + 1, 0)
        if (run >= n).any():
            return y - n + 1
    return None


def assert_shows_summary_and_chart(png_path) -> None:
    """The screenshot is not blank, holds a chart (the forecast period's shaded span: a solid vertical block of
    its colour, which text never draws) and, above that chart, the summary table (its header row: a wide solid
    band of the header colour)."""
    import matplotlib.image
    import numpy as np

    img = np.round(matplotlib.image.imread(str(png_path))[..., :3] * 255).astype(int)
    assert img.std() > 10, "blank screenshot"
    near = lambda rgb: np.abs(img - np.array(rgb)).max(axis=2) <= 2  # noqa: E731
    chart_top = _first_vertical_run(near((0xED, 0xF2, 0xF7)), 40)  # charts.py axvspan colour
    assert chart_top is not None, "no chart in the screenshot"
    header_rows = np.flatnonzero(near((0xF7, 0xFA, 0xFC)).sum(axis=1) >= 600)  # report.css th background
    assert header_rows.size and header_rows.min() < chart_top, "no summary table above the first chart"


def screenshot(html_path, tmp_path):
    """A headless Chromium screenshot (1280x3200) of a local HTML file, taken once the page has loaded and drawn
(a loaded machine once shot it before the first chart); skips where Chromium is missing."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    shot = tmp_path / "shot.png"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--screenshot={shot}", "--window-size=1280,3200",
           "--virtual-time-budget=10000", "--run-all-compositor-stages-before-draw",
           html_path.as_uri()]
    run = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HOME": str(tmp_path)})
    assert shot.exists(), f"chromium wrote no screenshot: {run.stderr[-800:]}"
    return shot


def test_html_renders_in_headless_chromium(report, tmp_path):
    folder = output.write_report(report, tmp_path / "out", ("html",))
    assert_shows_summary_and_chart(screenshot(folder / "report.html", tmp_path))
