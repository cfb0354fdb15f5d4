"""Question parsing and category resolution (pure: no stores, no models)."""
import pandas as pd
import pytest

from trendcast.agent.question import QuestionError, parse_question
from trendcast.agent.resolve import AmbiguousCategory, resolve_category


@pytest.mark.parametrize("q, category, horizon", [
    ("how will clothing stores trend next month?", "clothing stores", "next-month"),
    ("How will department 92 do over the next 4 weeks?", "department 92", "next-4-weeks"),
    ("what about electronic shopping and mail-order houses in April 2020", "electronic shopping and mail-order houses",
     "month:2020-04"),
    ("How will sales of furniture stores trend next quarter?", "furniture stores", "next-quarter"),
    ("how is e-commerce going to look in 2020-05?", "e-commerce", "month:2020-05"),
    ("Sporting goods, hobby, musical instrument, and book stores next week",
     "sporting goods, hobby, musical instrument, and book stores", "next-week"),
    ("gasoline stations", "gasoline stations", "next-month"),
    ("how will shoe stores perform in sept 2019", "shoe stores", "month:2019-09"),
    # framing words analysts use (issue 15)
    ("what's the outlook for electronics stores in May 2020?", "electronics stores", "month:2020-05"),
    ("what's the trend for shoe stores next month?", "shoe stores", "next-month"),
    ("What is the outlook for gasoline stations next quarter", "gasoline stations", "next-quarter"),
    ("what will be the trend for pet stores next month?", "pet stores", "next-month"),
    ("how are clothing stores doing?", "clothing stores", "next-month"),
    ("how are department stores looking next month", "department stores", "next-month"),
    ("sales of furniture stores next quarter", "furniture stores", "next-quarter"),
    ("demand for gasoline stations in Q2 2020", "gasoline stations", "quarter:2020-Q2"),
    ("outlook for clothing stores", "clothing stores", "next-month"),
    ("forecast for department stores next month", "department stores", "next-month"),
    ("forecast furniture stores for march 2020", "furniture stores", "month:2020-03"),
    ("give me the outlook for book stores in 2020-06", "book stores", "month:2020-06"),
    ("what are the prospects for jewelry stores next week", "jewelry stores", "next-week"),
    ("trend for nonstore retailers next month", "nonstore retailers", "next-month"),
    ("how will demand for hardware stores develop over the next 4 weeks", "hardware stores", "next-4-weeks"),
    ("where will sales of beer, wine, and liquor stores go next month?", "beer, wine, and liquor stores",
     "next-month"),
    # horizons: named months with or without a year, quarters
    ("how will clothing stores trend in December?", "clothing stores", "month:--12"),
    ("clothing stores in june", "clothing stores", "month:--06"),
    ("how will shoe stores do in Sep 2020", "shoe stores", "month:2020-09"),
    ("clothing stores in Q2 2020", "clothing stores", "quarter:2020-Q2"),
    ("clothing stores for 2020 q3", "clothing stores", "quarter:2020-Q3"),
    ("how will clothing stores trend in the next quarter", "clothing stores", "next-quarter"),
])
def test_parse_question(q, category, horizon):
    p = parse_question(q)
    assert (p.category, p.horizon) == (category, horizon)


def test_default_horizon_is_not_explicit():
    p = parse_question("clothing stores")
    assert p.horizon == "next-month" and not p.horizon_explicit


@pytest.mark.parametrize("q, said", [
    ("how will clothing stores trend in 2 months?", "in 2 months"),
    ("clothing stores next 3 months", "next 3 months"),
    ("clothing stores over the next six months", "the next six months"),
    ("clothing stores next year", "next year"),
    ("what is the forecast for clothing stores this month", "this month"),
    ("clothing stores between May and July", "between may and july"),
    ("clothing stores in H2", "h2"),
])
def test_horizons_without_an_answer_say_so(q, said):
    """A horizon the analyst said is never silently read as next month: exit 2 naming it and what works."""
    with pytest.raises(QuestionError, match=rf"horizon {said!r} is not supported: ask for next week, .*--horizon"):
        parse_question(q)


@pytest.mark.parametrize("q", ["", "   ", "how will trend next month?"])
def test_unusable_questions_raise(q):
    with pytest.raises(QuestionError):
        parse_question(q)


SERIES = pd.DataFrame({
    "unique_id": ["448", "4481", "44811", "44812", "4482", "4541", "Dept=92", "Dept=9"],
    "name": ["Clothing and clothing access. stores", "Clothing stores", "Men's clothing stores",
             "Women's clothing stores", "Shoe stores", "Electronic shopping and mail-order houses", "Dept 92",
             "Dept 9"],
    "code": ["448", "4481", "44811", "44812", "4482", "4541", None, None],
    "level": ["3-digit", "4-digit", "5-digit", "5-digit", "4-digit", "4-digit", "Dept", "Dept"],
    "freq": ["MS"] * 6 + ["W-FRI"] * 2,
})


@pytest.mark.parametrize("text, sid, how", [
    ("clothing stores", "4481", "exact"),
    ("4481", "4481", "id"),
    ("shoe store", "4482", "fuzzy"),
    ("womens clothing stores", "44812", "fuzzy"),
    ("e-commerce", "4541", "exact"),
    ("department 92", "Dept=92", "id"),
])
def test_resolve(text, sid, how):
    t = resolve_category(text, SERIES)
    assert (t.series_id, t.resolved_by) == (sid, how)


def test_ambiguous_lists_candidates():
    with pytest.raises(AmbiguousCategory) as e:
        resolve_category("clothing", SERIES)
    assert "4481" in str(e.value) and "448]" in str(e.value)


def test_no_match_names_closest():
    with pytest.raises(QuestionError, match="no category matches 'spaceships'"):
        resolve_category("spaceships", SERIES)


def test_semantic_fallback_used_only_when_fuzzy_fails():
    calls = []

    def semantic(text, names):
        calls.append(text)
        return [0.9 if n == "Electronic shopping and mail-order houses" else 0.1 for n in names]

    assert resolve_category("clothing stores", SERIES, semantic=semantic).series_id == "4481"
    assert calls == []
    t = resolve_category("internet retailers", SERIES, semantic=semantic)
    assert (t.series_id, t.resolved_by, calls) == ("4541", "semantic", ["internet retailers"])
