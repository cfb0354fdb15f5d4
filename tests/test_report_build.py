"""build_report on a real (sales-only) MRTS workspace: category selection, failure isolation, adjuster fallback,
and the CLI's exit codes for bad input."""
from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from trendcast.agent import workspace
from trendcast.agent.adjusters import registry as adjusters
from trendcast.agent.cli.main import cli
from trendcast.agent.cli.demo import bundled_data_dir, mrts_mapping, MRTS
from trendcast.agent.question.parse import QuestionError
from trendcast.agent.report.build import build_report
from trendcast.agent.report.warm import precompute
from trendcast.agent.report.targets import iso_week, report_as_of, select_targets, split_list
from trendcast.agent.question.resolve import Target
from trendcast.agent.settings import Settings

AS_OF = dt.date(2020, 3, 31)


@pytest.fixture(scope="module")
def mrts_sales(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("sales") / "home")
    workspace.ingest_sales(settings, bundled_data_dir() / MRTS, mrts_mapping())
    return settings


def test_select_by_level_categories_and_as_of(mrts_sales):
    series = workspace.sales_store(mrts_sales).series()
    targets, label = select_targets(series, split_list(["3-digit,4-digit"]))
    assert label == "level 3-digit, 4-digit" and {t.level for t in targets} == {"3-digit", "4-digit"}
    assert len(targets) == (series["level"].isin(["3-digit", "4-digit"])).sum()
    named, _ = select_targets(series, categories=["448", "clothing stores", "448"])
    assert [t.series_id for t in named] == ["448", "4481"]
    assert report_as_of(series, targets) == dt.date(2021, 9, 30)
    assert iso_week(AS_OF) == "2020-W14" and iso_week(dt.date(2021, 1, 3)) == "2020-W53"
    with pytest.raises(QuestionError, match="levels in the workspace"):
        select_targets(series, ["9-digit"])


def test_a_failing_category_and_a_failing_adjuster_never_sink_the_run(mrts_sales, monkeypatch):
    class Boom:
        name = "boom"

        def __init__(self, settings, deps):
            pass

        def adjust_many(self, situations, progress=None):
            raise ConnectionError("adjuster exploded")

    monkeypatch.setitem(adjusters._REGISTRY, "boom", Boom)
    series = workspace.sales_store(mrts_sales).series()
    targets, _ = select_targets(series, categories=["448", "4453"])
    targets.append(Target("999", "No such series", "3-digit", "id", "MS"))
    report = build_report(mrts_sales, targets, as_of=AS_OF, adjuster="boom", workers=1)
    by_id = {e.series_id: e for e in report.entries}
    assert by_id["999"].status == "failed" and "no observations" in by_id["999"].error
    assert by_id["448"].status == by_id["4453"].status == "fallback"
    # clothing broke from its pattern in March 2020 (COVID closures): badged for that too; food/liquor did not
    assert by_id["448"].badges == ["fallback", "break"] and by_id["4453"].badges == ["fallback"]
    assert report.stats.badges == {"ok": 0, "failed": 1, "fallback": 2, "stale": 0, "break": 1}
    assert by_id["448"].answer.adjustment.source == "carry"
    assert any("adjuster boom failed for the whole batch" in w and "ConnectionError" in w for w in report.warnings)
    assert (report.stats.ok, report.stats.fallbacks, report.stats.failed) == (0, 2, 1)
    assert report.ranking[-1] == "999" and report.week == "2020-W14"


def test_worker_processes_give_the_same_numbers(mrts_sales):
    series = workspace.sales_store(mrts_sales).series()
    targets, _ = select_targets(series, categories=["448", "452"])
    cache = mrts_sales.home / "baselines.sqlite"
    cache.unlink(missing_ok=True)
    one = build_report(mrts_sales, targets, as_of=AS_OF, adjuster="none", workers=1)
    cache.unlink()  # both fit: nothing comes from the baseline cache
    two = build_report(mrts_sales, targets, as_of=AS_OF, adjuster="none", workers=2)
    assert cache.exists()  # the workers filled it
    assert [e.answer.forecast for e in one.entries] == [e.answer.forecast for e in two.entries]
    assert [e.answer.baseline for e in one.entries] == [e.answer.baseline for e in two.entries]


@pytest.mark.parametrize("args, message", [
    (["--level", "9-digit"], "levels in the workspace"),
    (["--level", "3-digit", "--categories", "448"], "not both"),
    (["--level", "3-digit", "--horizon", "next-decade"], "next-decade"),
    (["--level", "3-digit", "--format", "pdf"], "pdf"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(mrts_sales, tmp_path, args, message):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["--home", str(mrts_sales.home), "report", "--adjuster", "none", "--out",
                                      str(out), "--as-of", "2020-03-31", *args], env={"TRENDCAST_LLM_URL": None})
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_worker_fits_leave_prepare_nothing_to_fit(mrts_sales, monkeypatch):
    """The workers' baselines and backtests are exactly those prepare() would compute: afterwards prepare fits
    nothing (if the two drifted apart, prepare would fit — and here fail)."""
    import trendcast.forecasting.backtest
    import trendcast.forecasting.baseline

    series = workspace.sales_store(mrts_sales).series()
    targets, _ = select_targets(series, categories=["4451", "4453"])
    baselines = precompute(mrts_sales, series, targets, as_of=AS_OF, horizon="next-month", need_cases=True,
                           workers=2)
    assert set(baselines) == {"4451", "4453"}

    def no_fit(*args, **kwargs):
        raise AssertionError("prepare had to fit: the workers computed something else")

    monkeypatch.setattr(trendcast.forecasting.backtest, "_series_situations", no_fit)
    monkeypatch.setattr(trendcast.forecasting.baseline, "forecast_period", no_fit)
    report = build_report(mrts_sales, targets, as_of=AS_OF, adjuster="analog", workers=1)
    assert [e.status for e in report.entries] == ["break", "ok"], [e.error for e in report.entries]
    assert "break" in [w.code for w in report.entries[0].answer.warnings]  # groceries' March 2020 stock-up
    assert all(e.answer.adjustment.model == "analog(k=8)" for e in report.entries)


def test_movers_rank_on_the_adjusted_forecast_and_badges_follow_warnings(mrts_sales):
    """As of 2020-03-31 the baseline sees clothing's COVID-collapsed March and expects it to double back (+100 %);
    the carry adjuster takes part of that break into April. The movers rank on the adjusted forecast, and the
    break-flagged categories are not badged "ok"."""
    series = workspace.sales_store(mrts_sales).series()
    targets, _ = select_targets(series, categories=["4481", "4453"])
    report = build_report(mrts_sales, targets, as_of=AS_OF, adjuster="carry", workers=1, top_n=5)
    by_id = {e.series_id: e for e in report.entries}
    clothing = by_id["4481"]
    assert clothing.baseline_change() > 90 and clothing.answer.adjustment.pct < -20
    assert clothing.change() == clothing.answer.forecast.change_vs_last_period_pct < clothing.baseline_change() - 20
    ranked = [e.change() for e in report.ranked()]
    assert ranked == sorted(ranked, reverse=True)
    assert clothing.status == "break" and clothing.badges == ["break"]
    assert report.stats.badges["break"] == sum("break" in [w.code for w in e.answer.warnings]
                                              for e in report.entries)
    assert report.stats.ok == sum(not e.badges for e in report.entries)
    from trendcast.agent.report.render import render_html, render_markdown

    html, md = render_html(report), render_markdown(report)
    summary = html.split('<table class="summary">')[1].split("</table>")[0]
    row = next(r for r in summary.split("<tr") if "Clothing stores</a>" in r)
    assert '<span class="badge break">break</span>' in row and "badge ok" not in row
    assert "| break |" in md and "Numbers at risk: 1 of 2 categories" in md


def test_a_second_run_keeps_the_first_and_says_where_it_wrote(mrts_sales, tmp_path):
    out = tmp_path / "out"
    args = ["--home", str(mrts_sales.home), "report", "--adjuster", "none", "--categories", "4453", "--as-of",
            "2020-03-31", "--out", str(out), "--workers", "1", "--format", "json"]
    runs = [CliRunner().invoke(cli, args, env={"TRENDCAST_LLM_URL": None}) for _ in range(2)]
    assert [r.exit_code for r in runs] == [0, 0], [r.output for r in runs]
    assert runs[0].output.startswith(f"wrote {out / 'report-2020-W14'}  (1 categories: 1 ok, 0 break")
    assert runs[1].output.startswith(f"wrote {out / 'report-2020-W14-2'}  (")
    again = CliRunner().invoke(cli, [*args, "--overwrite"], env={"TRENDCAST_LLM_URL": None})
    assert again.exit_code == 0 and again.output.startswith(f"wrote {out / 'report-2020-W14'}  (")
    assert sorted(p.name for p in out.iterdir()) == ["report-2020-W14", "report-2020-W14-2"]
