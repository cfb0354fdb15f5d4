"""`trendcast series` and `trendcast logs` in an 80-column terminal (the default layout), `--wide` and `--json`,
and the hint an empty workspace prints — through the real CLI on the bundled MRTS sales and a real call log."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from trendcast.agent import workspace
from trendcast.agent.cli.main import cli
from trendcast.agent.cli.demo import MRTS, bundled_data_dir, mrts_mapping
from trendcast.agent.settings import Settings
from trendcast.agent.cli.tables import wrap_id

COLUMNS_80 = {"COLUMNS": "80", "LINES": "24", "TRENDCAST_LLM_URL": None}
LONG_ERROR = ("direction_sign: direction 'up' contradicts change_pct 0.5: with a flat band of ±1%, direction must "
              "be 'flat' when |change_pct| <= 1, 'up' when change_pct > 1, 'down' when change_pct < -1")


@pytest.fixture(scope="module")
def mrts(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("tables") / "home")
    workspace.ingest_sales(settings, bundled_data_dir() / MRTS, mrts_mapping())
    with workspace.calllog(settings) as log:  # calls as the LLM adjuster logs them
        for i, (status, error) in enumerate([("invalid", LONG_ERROR), ("http_error", "HTTP 500 from the server"),
                                             ("ok", None)] * 2):
            log.record(status=status, model="smollm2-135m-instruct", prompt_id="few-shot@2",
                       tag=f"448{i}@2020-03-31", attempt=1 + i % 3, latency_s=1.5 + i, prompt_tokens=2333,
                       completion_tokens=122, error=error, dialect="json_object",
                       problem="direction_sign" if status == "invalid" else None)
    return settings.home


def tc(home, *args):
    r = CliRunner().invoke(cli, ["--home", str(home), *args], env=COLUMNS_80)
    assert r.exit_code == 0, r.output
    return r.output


def id_column(out: str) -> list[str]:
    """The ids the 80-column `series` table shows, each rebuilt from its wrapped lines (rows are separated by a
    blank line; the id column ends where the header's "name" begins)."""
    lines = out.splitlines()
    rule = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"})
    end = lines[rule - 1].index("name")
    ids, cur = [], ""
    for line in lines[rule + 1:] + [""]:
        if not line.strip():
            if cur:
                ids.append(cur)
            cur = ""
            continue
        part = line[:end].strip()
        if part:
            cur += part if not cur or cur.endswith("-") else " " + part
    return ids


def test_series_fits_80_columns_and_every_id_reads_whole(mrts):
    out = tc(mrts, "series")
    assert max(len(line) for line in out.splitlines()) <= 80
    records = json.loads(tc(mrts, "series", "--json"))
    expected = [r["unique_id"] for r in records]
    shown = id_column(out)
    assert shown == expected and len(set(shown)) == len(shown) == 65  # the six retail-sales-… aggregates included
    assert len([i for i in shown if i.startswith("retail-")]) == 6 and "…" not in out  # nothing elided
    # names wrap at words in a column of their own, wide enough that no name is one word per line
    assert "Motor vehicle and parts dealers" in out and "Retail sales and food services" in out


def test_series_wide_and_json(mrts):
    out = tc(mrts, "series", "--wide")
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line.strip()}
    long_id = "retail-sales-and-food-services-excl-motor-vehicle-and-parts-and-gasoline-stations"
    assert long_id in rows and "Retail sales and food services excl motor vehicle and parts and gasoline stations" \
        in rows[long_id] and "mrts-nsa" in rows[long_id]
    assert len(out.splitlines()) == 2 + 65  # header, rule, one line per series
    records = json.loads(tc(mrts, "series", "--json"))
    assert {"unique_id", "name", "level", "freq", "start", "end", "n_obs"} <= set(records[0])


def test_logs_fit_80_columns_wide_and_json(mrts):
    out = tc(mrts, "logs", "-n", "5")
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].startswith("LLM calls, model smollm2-135m-instruct")
    words = [line.split()[-1] for line in lines[3:] if line.strip()]  # the last column: the error, wrapped
    assert sum(len(w) <= 3 for w in words) < len(words) / 2, "the error column shrank to a word per line"
    assert "direction_sign" in out and "4485@2020-03-31" in out and "4481@2020-03-31" in out
    wide = tc(mrts, "logs", "-n", "5", "--wide").splitlines()
    assert len(wide) == 2 + 5 and any(LONG_ERROR.split(": ", 1)[1] in line for line in wide)
    data = json.loads(tc(mrts, "logs", "-n", "5", "--json"))
    assert [r["tag"] for r in data] == [f"448{i}@2020-03-31" for i in (5, 4, 3, 2, 1)]
    assert {"messages_json", "raw_reply", "latency_s"} <= set(data[0])


def test_an_empty_workspace_says_how_to_fill_it(tmp_path):
    home = tmp_path / "empty"
    out = tc(home, "series")
    assert "run `trendcast demo` or `trendcast ingest sales FILE`" in out and "─" not in out
    assert len(out.strip().splitlines()) == 1 and max(len(line) for line in out.splitlines()) <= 80
    assert json.loads(tc(home, "series", "--json")) == []
    logs = tc(home, "logs")
    assert "no LLM calls logged yet" in logs and max(len(line) for line in logs.splitlines()) <= 80
    assert json.loads(tc(home, "logs", "--json")) == []
    assert not (home / "llm.sqlite").exists()  # reading the log creates none


def test_wrap_id_breaks_after_hyphens_and_keeps_short_ids():
    assert wrap_id("4481") == "4481" and wrap_id("722513, 722514, 722515") == "722513, 722514,\n722515"
    assert wrap_id("retail-sales-total-excl-motor-vehicle-and-parts-dealers") == \
        "retail-sales-total-\nexcl-motor-vehicle-\nand-parts-dealers"
