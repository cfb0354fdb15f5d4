"""The question suite: what analysts type, and what it must answer — the category (series id of the bundled MRTS
demo data, NAICS codes) and the calendar period (start, end) as of a date. It reads as the spec of issue 15:
framing words around the category, every horizon said answered as that period, and each category decided by a
lexical match (the embedding model is never loaded for any of them: see the test below the table).

Period rules (forecasting.periods): "next month" and "in N months" are calendar months after as-of's month;
"next N months" the N months after it; a month or half or quarter named without a year is the next one starting
after as-of; "next year" the calendar year after as-of's year; ranges run from the first month to the second."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest
from click.testing import CliRunner

from conftest import MRTS_FILE, REPO

SUITE = [
    # question                                                          as-of         series     start         end
    ("what's the outlook for electronics stores in May 2020?", "2020-03-31", "443142", "2020-05-01", "2020-05-31"),  # Electronics stores
    ("what's the trend for shoe stores next month?", "2020-03-31", "4482", "2020-04-01", "2020-04-30"),  # Shoe stores
    ('how will clothing stores trend next month?', "2020-03-31", "4481", "2020-04-01", "2020-04-30"),  # Clothing stores
    ('How will shoe stores trend in 2 months?', "2020-03-31", "4482", "2020-05-01", "2020-05-31"),  # Shoe stores
    ("what will electronics stores sell in three months' time?", "2020-03-31", "443142", "2020-06-01", "2020-06-30"),  # Electronics stores
    ('gasoline stations in 6 months', "2020-03-31", "447", "2020-09-01", "2020-09-30"),  # Gasoline stations
    ('how will clothing stores do over the next 3 months?', "2020-03-31", "4481", "2020-04-01", "2020-06-30"),  # Clothing stores
    ('the next six months for department stores', "2020-03-31", "4521", "2020-04-01", "2020-09-30"),  # Department stores
    ('demand for furniture stores in the coming 2 months', "2020-03-31", "4421", "2020-04-01", "2020-05-31"),  # Furniture stores
    ("what's the forecast for electronic shopping next year?", "2020-03-31", "4541", "2021-01-01", "2021-12-31"),  # Electronic shopping and mail-order houses
    ('how will book stores trend next year', "2019-12-31", "451211", "2020-01-01", "2020-12-31"),  # Book stores
    ('grocery stores in Q2 2020', "2020-03-31", "4451", "2020-04-01", "2020-06-30"),  # Grocery stores
    ('how will hardware stores do in 2020 Q3?', "2020-03-31", "44413", "2020-07-01", "2020-09-30"),  # Hardware stores
    ('jewelry stores in the third quarter', "2020-03-31", "44831", "2020-07-01", "2020-09-30"),  # Jewelry stores
    ('jewelry stores in Q1', "2020-03-31", "44831", "2021-01-01", "2021-03-31"),  # Jewelry stores
    ('clothing stores next quarter', "2020-03-31", "4481", "2020-04-01", "2020-06-30"),  # Clothing stores
    ('how are pharmacies doing in the coming quarter?', "2020-03-31", "44611", "2020-04-01", "2020-06-30"),  # Pharmacies and drug stores
    ('shoe stores in June', "2020-03-31", "4482", "2020-06-01", "2020-06-30"),  # Shoe stores
    ("what's the outlook for clothing stores in December?", "2019-10-31", "4481", "2019-12-01", "2019-12-31"),  # Clothing stores
    ('how will toy stores do in December', "2019-10-31", "45112", "2019-12-01", "2019-12-31"),  # Hobby, toy, and game stores
    ('sporting goods stores in January', "2019-10-31", "45111", "2020-01-01", "2020-01-31"),  # Sporting goods stores
    ('department stores in March', "2020-03-31", "4521", "2021-03-01", "2021-03-31"),  # Department stores
    ('furniture stores in March 2020', "2019-12-31", "4421", "2020-03-01", "2020-03-31"),  # Furniture stores
    ('electronics stores in 2020-05', "2020-03-31", "443142", "2020-05-01", "2020-05-31"),  # Electronics stores
    ('new car dealers in sept 2020', "2020-03-31", "44111", "2020-09-01", "2020-09-30"),  # New car dealers
    ('clothing stores from May to July 2020', "2020-03-31", "4481", "2020-05-01", "2020-07-31"),  # Clothing stores
    ('how will shoe stores trend between April and June?', "2020-03-31", "4482", "2020-04-01", "2020-06-30"),  # Shoe stores
    ('gasoline stations from November to February', "2020-03-31", "447", "2020-11-01", "2021-02-28"),  # Gasoline stations
    ('department stores from 2020-10 to 2020-12', "2020-03-31", "4521", "2020-10-01", "2020-12-31"),  # Department stores
    ('grocery stores may-july 2020', "2020-03-31", "4451", "2020-05-01", "2020-07-31"),  # Grocery stores
    ('clothing stores in H2 2020', "2020-03-31", "4481", "2020-07-01", "2020-12-31"),  # Clothing stores
    ('electronic shopping and mail-order houses in the second half', "2020-03-31", "4541", "2020-07-01", "2020-12-31"),  # Electronic shopping and mail-order houses
    ('what about e-commerce in the first half of 2021', "2020-03-31", "4541", "2021-01-01", "2021-06-30"),  # Electronic shopping and mail-order houses
    ('restaurants and other eating places in 2021', "2020-03-31", "7225", "2021-01-01", "2021-12-31"),  # Restaurants and other eating places
    ('how will drinking places do in 2018?', "2017-12-31", "7224", "2018-01-01", "2018-12-31"),  # Drinking places
    ('what is the outlook for gasoline stations next quarter', "2019-12-31", "447", "2020-01-01", "2020-03-31"),  # Gasoline stations
    ('outlook for book stores', "2020-03-31", "451211", "2020-04-01", "2020-04-30"),  # Book stores
    ('forecast for department stores next month', "2020-03-31", "4521", "2020-04-01", "2020-04-30"),  # Department stores
    ('sales of furniture stores next quarter', "2020-03-31", "4421", "2020-04-01", "2020-06-30"),  # Furniture stores
    ('demand for gasoline stations in Q2 2020', "2020-03-31", "447", "2020-04-01", "2020-06-30"),  # Gasoline stations
    ('how are clothing stores doing?', "2020-03-31", "4481", "2020-04-01", "2020-04-30"),  # Clothing stores
    ('how are department stores looking next month', "2020-03-31", "4521", "2020-04-01", "2020-04-30"),  # Department stores
    ('where will sales of beer, wine, and liquor stores go next month?', "2020-03-31", "4453", "2020-04-01", "2020-04-30"),  # Beer, wine, and liquor stores
    ('what are the prospects for jewelry stores next month', "2020-03-31", "44831", "2020-04-01", "2020-04-30"),  # Jewelry stores
    ('trend for nonstore retailers next month', "2020-03-31", "454", "2020-04-01", "2020-04-30"),  # Nonstore retailers
    ('give me the outlook for hobby stores in 2020-06', "2020-03-31", "45112", "2020-06-01", "2020-06-30"),  # Hobby, toy, and game stores
    ('how will gas stations trend next month?', "2020-03-31", "447", "2020-04-01", "2020-04-30"),  # Gasoline stations
    ('how will e-commerce do next month?', "2020-03-31", "4541", "2020-04-01", "2020-04-30"),  # Electronic shopping and mail-order houses
    ('online sales next month', "2020-03-31", "4541", "2020-04-01", "2020-04-30"),  # Electronic shopping and mail-order houses
    ('how will bars trend next month?', "2020-03-31", "7224", "2020-04-01", "2020-04-30"),  # Drinking places
    ('how will car dealers do next month?', "2020-03-31", "4411", "2020-04-01", "2020-04-30"),  # Automobile dealers
    ('used car dealers next month', "2020-03-31", "44112", "2020-04-01", "2020-04-30"),  # Used car dealers
    ("what's the trend for women's clothing stores next month?", "2020-03-31", "44812", "2020-04-01", "2020-04-30"),  # Women's clothing stores
    ("how will men's clothing do next month?", "2020-03-31", "44811", "2020-04-01", "2020-04-30"),  # Men's clothing stores
    ("what's the outlook for toy stores next month?", "2020-03-31", "45112", "2020-04-01", "2020-04-30"),  # Hobby, toy, and game stores
    ('how will paint stores trend next month', "2020-03-31", "44412", "2020-04-01", "2020-04-30"),  # Paint and wallpaper stores
    ('gift shops next month', "2020-03-31", "45322", "2020-04-01", "2020-04-30"),  # Gift, novelty, and souvenir stores
    ('jewelers next month', "2020-03-31", "44831", "2020-04-01", "2020-04-30"),  # Jewelry stores
    ('how will naics 4482 trend next month?', "2020-03-31", "4482", "2020-04-01", "2020-04-30"),  # Shoe stores
    ('how will 443 trend next month?', "2020-03-31", "443", "2020-04-01", "2020-04-30"),  # Electronics and appliance stores
    ('4541 in 2 months', "2020-03-31", "4541", "2020-05-01", "2020-05-31"),  # Electronic shopping and mail-order houses
    ('how will supermarkets do next month?', "2020-03-31", "44511", "2020-04-01", "2020-04-30"),  # Supermarkets and other grocery (except convenience) stores
    ('how will drug stores trend next month?', "2020-03-31", "44611", "2020-04-01", "2020-04-30"),  # Pharmacies and drug stores
    ('warehouse clubs next month', "2020-03-31", "45291", "2020-04-01", "2020-04-30"),  # Warehouse clubs and superstores
    ('how will household appliance stores trend in May 2020?', "2020-03-31", "443141", "2020-05-01", "2020-05-31"),  # Household appliance stores
    ('discount department stores next month', "2020-03-31", "452112", "2020-04-01", "2020-04-30"),  # Discount dept. stores
    ('how will full service restaurants trend next month?', "2020-03-31", "722511", "2020-04-01", "2020-04-30"),  # Full service restaurants
    ('how will miscellaneous stores do next month', "2020-03-31", "453", "2020-04-01", "2020-04-30"),  # Miscellaneous store retailers
    ("what's the outlook for building materials dealers next month?", "2020-03-31", "4441", "2020-04-01", "2020-04-30"),  # Building mat. and supplies dealers
    ('Motor vehicle and parts dealers next month', "2020-03-31", "441", "2020-04-01", "2020-04-30"),  # Motor vehicle and parts dealers
    ('how will retail sales, total trend next month?', "2020-03-31", "retail-sales-total", "2020-04-01", "2020-04-30"),  # Retail sales, total
    ('how will GAFO do next month?', "2020-03-31", "gafo-1", "2020-04-01", "2020-04-30"),  # GAFO(1)
    ('how will auto parts stores trend next quarter?', "2020-03-31", "4413", "2020-04-01", "2020-06-30"),  # Automotive parts, acc., and tire stores
    ('how will fuel dealers trend in a month', "2020-03-31", "45431", "2020-04-01", "2020-04-30"),  # Fuel dealers
    ('office supplies and stationery stores next month', "2020-03-31", "45321", "2020-04-01", "2020-04-30"),  # Office supplies and stationery stores
    ('how will used merchandise stores do in 2 months', "2020-03-31", "45330", "2020-05-01", "2020-05-31"),  # Used merchandise stores
    ('floor covering stores next 12 months', "2020-03-31", "44221", "2020-04-01", "2021-03-31"),  # Floor covering stores
    ('how is the general merchandise stores outlook next month', "2020-03-31", "452", "2020-04-01", "2020-04-30"),  # General merchandise stores
    ("how will limited service restaurants do next month?", "2020-03-31", "722513, 722514, 722515", "2020-04-01", "2020-04-30"),  # Limited service eating places
    ("clothing accessories stores in the next 2 months", "2020-03-31", "448", "2020-04-01", "2020-05-31"),  # Clothing and clothing access. stores
    ("what's the outlook for toy and game stores in H2 2020?", "2020-03-31", "45112", "2020-07-01", "2020-12-31"),  # Hobby, toy, and game stores
]

# questions no stored category answers: a one-line error listing the closest, fast, without the embedding model
UNRESOLVABLE = [
    ("how will zeppelin dealers trend next month?", "'zeppelin dealers'", "Motor vehicle and parts dealers [441]"),
    ("what's the outlook for pet stores next month?", "'pet stores'", "[4521]"),
    ("how will florists do in May 2020?", "'florists'", "Floor covering stores [44221]"),
    ("convenience stores next month", "'convenience stores'", "[44511]"),  # "Supermarkets … (except convenience)"
]


@pytest.fixture(scope="module")
def mrts(tmp_path_factory):
    """A workspace holding the bundled MRTS sales (real ingest), and its series table."""
    from trendcast.agent import workspace
    from trendcast.agent.cli.main import cli
    from trendcast.agent.settings import Settings

    home = tmp_path_factory.mktemp("suite") / "home"
    r = CliRunner().invoke(cli, ["--home", str(home), "ingest", "sales", str(MRTS_FILE), "--date", "month", "--value",
                                 "sales_musd", "--id", "naics_code", "--name", "kind_of_business", "--where",
                                 "adjustment=NSA", "--code-hierarchy"])
    assert r.exit_code == 0, r.output
    settings = Settings(home=home)
    return settings, workspace.sales_store(settings).series()


def _no_semantic(text, names):
    raise AssertionError(f"the semantic matcher was asked about {text!r}: a lexical match should decide")


def test_the_suite_is_large_enough():
    assert len(SUITE) >= 60 and len({q for q, *_ in SUITE}) == len(SUITE)


@pytest.mark.parametrize("question, as_of, series_id, start, end", SUITE, ids=[q for q, *_ in SUITE])
def test_question(mrts, question, as_of, series_id, start, end):
    from trendcast.agent.question.parse import parse_question
    from trendcast.agent.question.resolve import resolve_category
    from trendcast.forecasting.periods import resolve_period

    _, series = mrts
    parsed = parse_question(question)
    target = resolve_category(parsed.category, series, semantic=_no_semantic)
    period = resolve_period(parsed.horizon, date.fromisoformat(as_of), target.freq)
    assert (target.series_id, str(period.start), str(period.end)) == (series_id, start, end), parsed


def test_lexical_questions_never_load_the_embedding_model(mrts):
    """In a fresh interpreter, the suite's questions and the unresolvable ones go through the product's own
    resolution (engine's semantic matcher over the workspace): neither sentence_transformers nor torch is
    imported, and the embedder is never built."""
    settings, _ = mrts
    questions = [q for q, *_ in SUITE] + [q for q, *_ in UNRESOLVABLE]
    script = f"""
import json, sys
from trendcast.agent import workspace
from trendcast.agent.engine import semantic_matcher
from trendcast.agent.question.parse import QuestionError, parse_question
from trendcast.agent.question.resolve import resolve_category
from trendcast.agent.settings import Settings

built = []
real = workspace.embedder
workspace.embedder = lambda s: built.append(1) or real(s)
settings = Settings(home={str(settings.home)!r})
series = workspace.sales_store(settings).series()
out = {{}}
for q in {questions!r}:
    try:
        out[q] = resolve_category(parse_question(q).category, series, semantic=semantic_matcher(settings)).series_id
    except QuestionError as e:
        out[q] = "error: " + str(e)
print(json.dumps({{"answers": out, "built": len(built),
                  "loaded": sorted(m for m in ("sentence_transformers", "torch") if m in sys.modules)}}))
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300,
                       env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["built"] == 0 and got["loaded"] == []
    assert {q: got["answers"][q] for q, _, sid, *_ in SUITE} == {q: sid for q, _, sid, *_ in SUITE}
    assert all(got["answers"][q].startswith("error: no category matches") for q, *_ in UNRESOLVABLE)


@pytest.mark.parametrize("question, text, listed", UNRESOLVABLE)
def test_unresolvable_question_fails_fast_listing_the_closest(mrts, question, text, listed, monkeypatch):
    """Through the engine (the whole `ask` path up to resolution): one line, exit-2 error, the closest categories
    with their ids, and the embedding model never asked for (what made it slow; its time is in bench/bench_ask.py)."""
    from trendcast.agent import workspace
    from trendcast.agent.engine import answer
    from trendcast.agent.errors import UserError

    settings, _ = mrts
    built: list[object] = []

    def embedder(s):
        built.append(s)
        raise AssertionError("the embedding model was asked for")

    monkeypatch.setattr(workspace, "embedder", embedder)
    with pytest.raises(UserError) as e:
        answer(settings, question, as_of=date(2020, 3, 31), adjuster="none")
    msg = str(e.value)
    assert built == []
    assert msg.startswith(f"no category matches {text} (no stored category shares a word with {text})")
    assert "closest: " in msg and listed in msg and msg.count("[") == 5 and "\n" not in msg


# The real CLI in a fresh process; at exit (after click's SystemExit) it writes which of the heavy modules it imported.
LOADED_AT_EXIT = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(
    m for m in ("sentence_transformers", "torch", "transformers") if m in sys.modules))))
from trendcast.agent.cli.main import main
sys.argv[0] = "trendcast"
main()
"""


def test_cli_unresolvable_question_exits_2_without_the_model(mrts, tmp_path):
    """The command itself, in a fresh process (imports, workspace, resolution): exit 2 and one line, without
    importing the embedding model's libraries (loading the model alone took more than the rest together). Its CPU
    time against `trendcast --help` is a row of bench/bench_ask.py."""
    settings, _ = mrts
    loaded = tmp_path / "loaded.json"
    cmd = [sys.executable, "-c", LOADED_AT_EXIT, str(loaded), "--home", str(settings.home)]
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(cmd + ["ask", "how will zeppelin dealers trend next month?", "--as-of", "2020-03-31"],
                       capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "no category matches 'zeppelin dealers'" in r.stderr + r.stdout
    assert len((r.stderr + r.stdout).strip().splitlines()) == 1
    assert json.loads(loaded.read_text()) == []
