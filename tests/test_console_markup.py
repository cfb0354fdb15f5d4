"""Issue 10 item 5a: terminal output prints data as data. Square brackets in a headline, a series name, a source or
a log field are not rich markup: `[but]` keeps its word, `[/r/retail]` cannot crash the command after its work is
done. Through the real CLI (click CliRunner) and through the printers themselves."""
from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console

from trendcast.agent.cli.main import cli

WIDE = {"COLUMNS": "400"}  # rich wraps at the terminal width; a wide one keeps every printed line whole
BUT = "Clothing stores [but] not shoe stores"
RETAIL = "Hobby shops [/r/retail]"


def flat(text: str) -> str:
    """Output with runs of whitespace (table padding, wrapping) collapsed to one space."""
    return " ".join(text.split())


def run(*args, code=0):
    r = CliRunner(env=WIDE).invoke(cli, list(args))
    assert r.exit_code == code, (r.output, r.exception)
    return r


@pytest.fixture
def bracket_home(home, tmp_path):
    """A workspace with two monthly series whose display names hold square brackets."""
    months = pd.date_range("2015-01-01", "2019-12-01", freq="MS")
    rows = [dict(month=d.strftime("%Y-%m"), code=code, name=name, sales=100 + 10 * np.sin(i / 12 * 2 * np.pi) + i)
            for code, name in (("A1", BUT), ("B2", RETAIL)) for i, d in enumerate(months)]
    pd.DataFrame(rows).to_csv(tmp_path / "sales.csv", index=False)
    run("ingest", "sales", str(tmp_path / "sales.csv"), "--date", "month", "--value", "sales", "--id", "code",
        "--name", "name")
    return home


def test_series_lists_names_with_brackets_intact(bracket_home):
    out = flat(run("series").output)
    assert BUT in out and RETAIL in out


@pytest.mark.parametrize("question,name", [("how will hobby shops trend next month?", RETAIL),
                                           ("how will clothing stores trend next month?", BUT)])
def test_ask_prints_a_target_name_with_brackets_intact(bracket_home, question, name):
    r = run("ask", question, "--as-of", "2019-12-31", "--adjuster", "none")
    assert flat(r.output).startswith(name + " ")


def _hit(doc_id: int, text: str, source: str):
    from trendcast.retrieval import Hit

    return Hit(doc_id=doc_id, date=dt.date(2020, 3, 2), kind="news", source=source, title=None, text=text,
               body=None, url=None, score=0.5)


def _console() -> Console:
    return Console(file=io.StringIO(), width=400, color_system=None)


def test_print_hits_keeps_brackets_in_text_and_source():
    from trendcast.agent.cli.console import print_hits

    c = _console()
    print_hits([_hit(1, "Sales rose, [but] margins fell", "cnbc[x]"), _hit(2, "Shoppers vent on [/r/retail]", "[b]")],
               console=c)
    out = c.file.getvalue()
    assert "news/cnbc[x] Sales rose, [but] margins fell" in out
    assert "news/[b] Shoppers vent on [/r/retail]" in out


def test_print_logs_keeps_brackets_in_every_field():
    from trendcast.agent.cli.tables import print_logs

    c = _console()
    print_logs([{"id": 7, "time": "2020-03-02T10:00:00", "model": "[bold]qwen", "prompt_id": "few-shot@1",
                 "tag": "[/r/retail]", "attempt": 1, "status": "error", "latency_s": 0.5,
                 "error": "HTTP 400: [/detail] bad [but] fixable"}], console=c)
    out = flat(c.file.getvalue())
    assert "[bold]qwen" in out and "[/r/retail]" in out and "HTTP 400: [/detail] bad [but] fixable" in out


def test_report_progress_prints_a_phase_label_with_brackets():
    from trendcast.agent.report.progress import RichProgress

    c = Console(file=io.StringIO(), width=200, force_terminal=True, color_system=None)
    bar = RichProgress(console=c)
    bar.phase("adjusting ([/r/retail])", 2)
    bar.advance(2)
    bar.close()
    assert "adjusting ([/r/retail])" in c.file.getvalue()


# -- the demo workspace: real headlines, real index, real model --------------------------------------------------

HEADLINES = [
    ("2020-03-30", "reddit", "Clothing stores sales fall as malls close, [but] online orders jump"),
    ("2020-03-30", "reddit", "Clothing stores sales collapse in March, shoppers say on [/r/retail]"),
]


@pytest.fixture(scope="module")
def bracket_demo(demo_workspace, tmp_path_factory):
    """A copy of the demo workspace with two bracketed clothing-store headlines ingested and indexed."""
    import shutil

    h = tmp_path_factory.mktemp("markup") / "home"
    shutil.copytree(demo_workspace, h)
    csv = h.parent / "bracketed.csv"
    pd.DataFrame(HEADLINES, columns=["date", "source", "headline"]).to_csv(csv, index=False)
    base = ["--home", str(h)]
    run(*base, "ingest", "docs", str(csv), "--text", "headline", "--date", "date", "--source", "source")
    run(*base, "index")
    return h


@pytest.mark.slow
def test_search_prints_bracketed_headlines_intact(bracket_demo):
    r = run("--home", str(bracket_demo), "search", "clothing stores sales fall in March", "--as-of", "2020-03-31",
            "-k", "5")
    out = flat(r.output)
    for _, source, text in HEADLINES:
        assert f"news/{source} {text}" in out


@pytest.mark.slow
def test_ask_prints_bracketed_evidence_intact(bracket_demo):
    r = run("--home", str(bracket_demo), "ask", "how will clothing stores trend next month?", "--as-of",
            "2020-03-31", "--adjuster", "analog")
    out = flat(r.output)
    assert "evidence" in out
    shown = [text for _, _, text in HEADLINES if text in out]
    assert shown, out  # at least one of them is evidence for clothing stores at the end of March 2020
