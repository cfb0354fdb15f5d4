"""Category resolution: the category text of a question → one series.

Lexical first, and decisive whenever it can be: an id or code (also inside the text: "naics 4482"), an exact name,
then a fuzzy name (rapidfuzz WRatio), then the one name holding every content word of the text, then the one whose
name and parent's name hold its rarest words. None of that loads the embedding model. The semantic matcher (embeddings) is the last resort and only among *plausible*
categories: those whose name, or whose parent's name, shares a content word with the text (ratio >= WORD_MIN,
"jewelers" meets "jewelry"). Text that shares no content word with any stored
category ("pet stores", "zeppelin dealers") is an error at once, listing the closest names — a wrong category
answered with confidence is worse than a one-line question back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from trendcast.agent.question.parse import QuestionError

FUZZY_MIN = 86.0  # rapidfuzz WRatio (0..100) needed for a fuzzy match
TIE_MARGIN = 2.0  # candidates within this of the best are a tie → ambiguous
LEAD_IDF = 1.0  # the lead (in idf) a row needs over the next to be decided by its rarest words
WORD_MIN = 80.0  # rapidfuzz ratio of a text word to a name word for the name to be plausible ("cars" ~ "car": 86)
SEMANTIC_MIN = 0.55  # cosine similarity needed for a semantic match (MiniLM: "cars" → Automobile dealers 0.66)
SEMANTIC_TIE = 0.03  # a runner-up this close makes it ambiguous
CLOSEST = 5  # categories an error lists

_SYNONYMS = [
    (re.compile(r"\bdepartment\b|\bdepartments\b"), "dept"),
    (re.compile(r"\be-?commerce\b|\bonline\b|\binternet\b|\bweb\s+(?:shops?|stores?|retail(?:ers)?)\b"),
     "electronic shopping and mail-order houses"),
    (re.compile(r"\bgas\b|\bpetrol\b|\bfuel stations?\b"), "gasoline"),
    (re.compile(r"\b(?:car|auto)\s+(?:dealers?|dealerships?)\b"), "automobile dealers"),
    (re.compile(r"\bcars?\b"), "automobile"),
    (re.compile(r"\bauto\b"), "automotive"),
    (re.compile(r"\bbars\b|\bpubs\b"), "drinking places"),
    (re.compile(r"&"), " and "),
    # the abbreviations of the Census' own names
    (re.compile(r"\bmat\b"), "materials"), (re.compile(r"\bequip\b"), "equipment"),
    (re.compile(r"\bfurn\b"), "furnishings"), (re.compile(r"\bacc\b|\baccess\b"), "accessories"),
    (re.compile(r"\bgen\b"), "general"),
]
# words that name no category by themselves: every other category is a store, a dealer or a retailer
_GENERIC = frozenset("""store stores shop shops dealer dealers retailer retailers retail the and of for other all
    total sales excl except incl a an in at on to""".split())


@dataclass(frozen=True)
class Target:
    series_id: str
    name: str
    level: str
    resolved_by: str  # id | exact | fuzzy | semantic
    freq: str

    @classmethod
    def from_row(cls, row, how: str) -> "Target":
        """The target of a row of SalesStore.series() (a Series or a record dict), resolved by `how`."""
        return cls(str(row["unique_id"]), str(row["name"]), str(row["level"]), how, str(row["freq"]))


class AmbiguousCategory(QuestionError):
    def __init__(self, text: str, candidates: list[tuple[str, str]]):
        self.candidates = candidates
        shown = "; ".join(f"{name} [{sid}]" for sid, name in candidates[:8])
        super().__init__(f"{text!r} matches several categories: {shown} — name one of them (or use --series ID)")


def _norm(s: str) -> str:
    s = s.lower()
    for pattern, repl in _SYNONYMS:
        s = pattern.sub(repl, s)
    s = re.sub(r"[^\w\s]", " ", s.replace("=", " "))
    return " ".join(s.split())


_EXCEPT = re.compile(r"\((?:except|excl)\b[^)]*\)")  # "(except convenience)": words the category does not hold


def _matchable(name: str) -> str:
    """A stored name as fuzzy and word matching read it: normalised, without what it excludes."""
    return _norm(_EXCEPT.sub(" ", name.lower()))


def _content(text: str) -> set[str]:
    return {w for w in text.split() if w not in _GENERIC and len(w) > 1 and not w.isdigit()}


def _words_match(words: set[str], vocab: set[str]) -> int:
    """How many of `words` some word of `vocab` spells closely (ratio >= WORD_MIN: plurals, "jewelers"/"jewelry")."""
    from rapidfuzz import fuzz

    return sum(any(fuzz.ratio(w, v) >= WORD_MIN for v in vocab) for w in words)


def _by_words(want: str, series: pd.DataFrame, fewest: bool = True) -> Target | None:
    """The one name holding every content word of the text, with the fewest other words ("toy stores" → Hobby, toy,
    and game stores; "gift shops" → Gift, novelty, and souvenir stores rather than Office supplies, stationery, and
    gift stores); None when no name holds them all; ambiguous when several hold them with as few others (without
    `fewest`: when several hold them at all)."""
    words = _content(want)
    if not words:
        return None
    vocabs = [_content(_matchable(n)) for n in series["name"].astype(str)]
    full = [(len(v) - len(words), i) for i, v in enumerate(vocabs) if _words_match(words, v) == len(words)]
    if not full:
        return None
    least = min(extra for extra, _ in full)
    best = [i for extra, i in full if extra == least or not fewest]
    if len(best) == 1:
        return Target.from_row(series.iloc[best[0]], "fuzzy")
    raise AmbiguousCategory(want, _rows(series, best))


def _rows(series: pd.DataFrame, idx) -> list[tuple[str, str]]:
    rows = series.iloc[list(idx)]
    return list(zip(rows["unique_id"].astype(str), rows["name"].astype(str)))


def _lexical(want: str, series: pd.DataFrame) -> Target | None:
    """The series named by id, code or name, exactly or fuzzily; None when nothing is close enough."""
    ids = series["unique_id"].astype(str)
    codes = series["code"].fillna("").astype(str)
    for how, keys in (("id", ids), ("exact", codes), ("exact", series["name"].astype(str))):
        named = series[keys.map(_norm) == want]
        if len(named) == 1:
            return Target.from_row(named.iloc[0], how)
        if len(named) > 1:
            raise AmbiguousCategory(want, _rows(series, np.flatnonzero(keys.map(_norm) == want)))
    tokens = set(want.split())
    coded = [i for i, (sid, code) in enumerate(zip(ids, codes))
             if any(k and k.isdigit() and k in tokens for k in (_norm(sid), _norm(code)))]
    if len(coded) == 1:  # "naics 4482", "4482 shoe stores"
        return Target.from_row(series.iloc[coded[0]], "id")
    from rapidfuzz import fuzz, process

    raw = list(series["name"].astype(str))
    names = [_norm(n) for n in raw]
    words = _content(want)
    good = [(score, idx) for _, score, idx in process.extract(want, names, scorer=fuzz.WRatio, limit=12)
            if score >= FUZZY_MIN  # and not by the words a name excludes: "convenience stores" ≠ "(except convenience)"
            and (not words or _words_match(words, _content(_matchable(raw[idx]))))]
    if not good:
        return _by_words(want, series)
    tied = [idx for score, idx in good if score >= good[0][0] - TIE_MARGIN]
    if len(tied) == 1:
        return Target.from_row(series.iloc[tied[0]], "fuzzy")
    try:  # "men's clothing": Men's and Women's clothing stores spell alike; only one holds the words
        hit = _by_words(want, series.iloc[tied], fewest=False)
    except AmbiguousCategory:
        hit = None
    if hit is not None:
        return hit
    raise AmbiguousCategory(want, _rows(series, tied))


def _vocabs(series: pd.DataFrame) -> list[set[str]]:
    """Each row's content words: its name's, and its parent's name's (the hierarchy)."""
    names = dict(zip(series["unique_id"].astype(str), series["name"].astype(str).map(_matchable)))
    parents = series["parent_id"] if "parent_id" in series else pd.Series([None] * len(series), index=series.index)
    out = []
    for sid, parent in zip(series["unique_id"].astype(str), parents):
        vocab = _content(names[sid])
        if isinstance(parent, str) and parent in names:
            vocab |= _content(names[parent])
        out.append(vocab)
    return out


def _by_weight(want: str, series: pd.DataFrame, rows: list[int]) -> Target | None:
    """When no name holds every word: the one row whose name and parent's name hold the rarest of them ("limited
    service restaurants" → Limited service eating places, under Restaurants and other eating places, not Full
    service restaurants), each word weighed by its rarity among the names (idf; a word no name holds weighs the
    most). Decided only when the winner holds at least half the text's weight and leads by LEAD_IDF; else None."""
    words = sorted(_content(want))
    own = [_content(_matchable(n)) for n in series["name"].astype(str)]
    n = len(own)
    idf = {w: float(np.log(n / max(sum(_words_match({w}, v) > 0 for v in own), 0.5))) for w in words}
    vocabs = _vocabs(series)
    scored = sorted(((sum(idf[w] for w in words if _words_match({w}, vocabs[i])), i) for i in rows), reverse=True)
    if not scored:
        return None
    best, idx = scored[0]
    runner = scored[1][0] if len(scored) > 1 else 0.0
    if best >= 0.5 * sum(idf.values()) and best - runner >= LEAD_IDF:
        return Target.from_row(series.iloc[idx], "fuzzy")
    return None


def plausible(want: str, series: pd.DataFrame) -> list[int]:
    """Rows whose name, or whose parent's name, shares a content word with the (normalised) text."""
    words = _content(want)
    if not words:
        return []
    return [i for i, vocab in enumerate(_vocabs(series)) if _words_match(words, vocab)]


def closest(want: str, series: pd.DataFrame, n: int = CLOSEST) -> list[tuple[str, str]]:
    """The n stored categories nearest the text by spelling (for an error message)."""
    from rapidfuzz import fuzz, process

    names = [_norm(x) for x in series["name"].astype(str)]
    return _rows(series, [idx for _, _, idx in process.extract(want, names, scorer=fuzz.WRatio, limit=n)])


def resolve_category(
    text: str,
    series: pd.DataFrame,
    semantic: Callable[[str, list[str]], np.ndarray] | None = None,
) -> Target:
    """Pick the series the user means. `series` is SalesStore.series(); `semantic(text, names)` returns cosine
    similarities of text to each name (optional; only called, with the plausible names only, when no lexical
    match decides)."""
    if series.empty:
        raise QuestionError("the workspace holds no sales yet: run `trendcast ingest sales FILE` (or `trendcast demo`)")
    want = _norm(text)
    try:
        hit = _lexical(want, series)
    except AmbiguousCategory as e:
        raise AmbiguousCategory(text, e.candidates) from None
    if hit is not None:
        return hit
    candidates = plausible(want, series)
    weighed = _by_weight(want, series, candidates)
    if weighed is not None:
        return weighed
    if semantic is not None and candidates:
        rows = series.iloc[candidates]
        sims = np.asarray(semantic(text, list(rows["name"].astype(str))), dtype=float)
        order = np.argsort(-sims)
        if sims[order[0]] >= SEMANTIC_MIN:
            if len(order) > 1 and sims[order[1]] >= sims[order[0]] - SEMANTIC_TIE:
                raise AmbiguousCategory(text, _rows(rows, order[:4]))
            return Target.from_row(rows.iloc[order[0]], "semantic")
    near = "; ".join(f"{name} [{sid}]" for sid, name in closest(want, series))
    why = "" if candidates else f" (no stored category shares a word with {text!r})"
    raise QuestionError(f"no category matches {text!r}{why}; closest: {near} — name one of them, or see "
                        "`trendcast series`")
