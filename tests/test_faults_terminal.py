"""Terminal injection (issue 25): text trendcast did not write — an LLM's rationale and driver notes, document
texts, category names from a sales file — reaches the console and report.md / .html / .json with its control
characters made visible (agent.visible: ESC → `\\x1b`), never raw: `ESC[2J` cleared the screen, an OSC sequence set
the window title. Real CLI processes, the real protocol test server, a small real workspace.
"""
from __future__ import annotations

import json

import pytest
from fault_workspace import AS_OF, docs_csv, sales_csv, small_copy, small_workspace, trendcast  # noqa: F401
from openai_server import adjustment_reply, openai_server  # noqa: F401

from trendcast.agent.visible import visible, visible_json, visible_json_text

# clear screen, red, set the window title (OSC … BEL), an 8-bit CSI asking the terminal to answer, backspaces, a
# carriage return, a right-to-left override
PAYLOAD = "\x1b[2J\x1b[31mRED\x1b]0;pwned\x07 \x9b6n back\x08\x08\rover \u202eevil"
SHOWN = "\\x1b[2J\\x1b[31mRED\\x1b]0;pwned\\x07 \\x9b6n back\\x08\\x08\\x0dover \\u202eevil"
RAW = ("\x1b", "\x07", "\x9b", "\x08", "\r", "\u202e")
WORD = SHOWN.split()[0]  # the first word of it, as a console that wraps lines at spaces shows it whole


def raw_controls(text: str) -> list[str]:
    return [repr(c) for c in RAW if c in text]


def test_visible_shows_controls_and_keeps_text():
    assert visible(PAYLOAD) == SHOWN
    assert visible("two\nlines\tand a tab, café, 東京 ✓") == "two\nlines\tand a tab, café, 東京 ✓"
    assert visible(None) is None and visible(3.5) == 3.5
    from markupsafe import Markup

    assert isinstance(visible(Markup("<b>\x1b[1m</b>")), Markup) and visible(Markup("<b>\x1b</b>")) == "<b>\\x1b</b>"
    assert visible_json({"k\x1b": ["a\x07", 1, None]}) == {"k\\x1b": ["a\\x07", 1, None]}
    plain = json.dumps({"a": "fine"}, indent=2)
    assert visible_json_text(plain) is plain  # nothing to do: the writer's formatting is kept
    assert json.loads(visible_json_text(json.dumps({"a": PAYLOAD}, indent=2))) == {"a": SHOWN}
    assert json.loads(visible_json_text(json.dumps({"a": PAYLOAD}, ensure_ascii=False))) == {"a": SHOWN}


def escaping_reply(body: dict, i: int) -> str:
    reply = json.loads(adjustment_reply(body, change_pct=3.0))
    reply["rationale"] = f"Demand holds. {PAYLOAD}"
    for d in reply["drivers"]:
        d["note"] = f"note {PAYLOAD}"
    return json.dumps(reply)


@pytest.mark.slow
def test_llm_text_reaches_console_and_reports_made_visible(small_copy, openai_server):
    server = openai_server(escaping_reply)
    env = {"TRENDCAST_LLM_URL": server.url, "TRENDCAST_LLM_MODEL": "test-model", "TRENDCAST_LLM_BUDGET": "30"}
    ask = ("ask", "how will shoe stores trend next month?", "--as-of", AS_OF)
    answer = json.loads(trendcast(small_copy, *ask, "--json", env=env).out)
    assert answer["adjustment"]["source"] == "llm", answer["adjustment"]
    assert SHOWN in answer["adjustment"]["rationale"]
    console = trendcast(small_copy, *ask, env=env)
    assert raw_controls(console.out + console.err) == [] and WORD in console.out
    trendcast(small_copy, "report", "--categories", "A", "--as-of", AS_OF, "--quiet", "--workers", "1", env=env)
    [folder] = (small_copy / "reports").glob("report-*")
    for name in ("report.md", "report.html", "report.json", *(f"charts/{p.name}" for p in (folder / "charts")
                                                                   .glob("*.svg"))):
        text = (folder / name).read_text(encoding="utf-8")
        assert raw_controls(text) == [], name
    assert "\\x1b" in (folder / "report.md").read_text() and "\\x1b" in (folder / "report.html").read_text()
    strings = json.dumps(json.loads((folder / "report.json").read_text()), ensure_ascii=False)
    assert "\\u001b" not in strings and "\\\\x1b[2J" in strings  # decoded, the strings hold no control either


@pytest.mark.slow
def test_document_texts_and_category_names_reach_the_console_made_visible(small_copy, tmp_path):
    docs = docs_csv(tmp_path / "docs.csv", n=0, texts=[f"Shoe sales boom {PAYLOAD.replace(chr(13), '')}"])
    trendcast(small_copy, "ingest", "docs", str(docs), "--date", "date", "--text", "headline")
    trendcast(small_copy, "index")
    for args in (("search", "shoe sales boom", "--as-of", AS_OF),
                 ("ask", "how will shoe stores trend next month?", "--as-of", AS_OF)):
        done = trendcast(small_copy, *args)
        assert raw_controls(done.out + done.err) == [] and "\\x1b[2J" in done.out, args
    hits = json.loads(trendcast(small_copy, "search", "shoe sales boom", "--as-of", AS_OF, "--json").out)
    assert raw_controls(json.dumps(hits, ensure_ascii=False)) == []
    assert any("\\x1b[2J" in h["text"] for h in hits), hits
    # a category name from a sales file: listed, never raw
    csv = sales_csv(tmp_path / "sales.csv")
    csv.write_text(csv.read_text().replace("Book stores", f"Book {PAYLOAD.replace(chr(13), '')}"))
    done = trendcast(small_copy, "ingest", "sales", str(csv), "--date", "month", "--value", "value", "--id", "id",
                     "--name", "name", "--dataset", "small")
    for args in (("series",), ("series", "--wide"), ("series", "--json")):
        out = trendcast(small_copy, *args).out
        assert raw_controls(out) == [] and "\\x1b[2J" in out, args
    assert raw_controls(done.out + done.err) == []


def test_a_servers_model_ids_and_errors_are_printed_made_visible(openai_server, tmp_path):
    """`trendcast llm ping` prints what a server says: its model ids, its errors."""
    server = openai_server(model=f"model {PAYLOAD}")
    done = trendcast(tmp_path / "home", "llm", "ping", "--url", server.url)
    assert raw_controls(done.out + done.err) == [] and WORD in done.out, done.out
