"""How much a retrieved document is about one category, not about shopping in general.

`specificity`: the document's similarity to the category's query less its median similarity to every category's
query — a headline about shops in general ("UK bicycle shops and repairers see a surge in business") is about as
close to clothing as to furniture or gasoline and scores near 0; one about fashion labels scores well above. The
category's own words and its hierarchy ancestors' names in the text add to it (`terms`), a region other than the
series' (said in the text, else the source's home) takes from it (`region_of`). `rank` orders, deduplicates
near-identical texts (rapidfuzz) and drops what is below a minimum relevance. Pure functions: the agent decides
which documents reach here (all dated on or before as-of) and what the category is.
"""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

MIN_SIMILARITY = 0.2  # below: not about the category whatever the others score
MIN_RELEVANCE = 0.15  # below: not specific enough to cite
OWN_TERM = 0.05  # per word of the category's own name found in the text (at most two count)
ANCESTOR_TERM = 0.02  # per word of an ancestor's name found in the text (at most two count)
REGION_TEXT = 0.06  # the text names another region
REGION_SOURCE = 0.02  # the source's home is another region (the text names none)
DUPLICATE_RATIO = 85  # rapidfuzz token_set_ratio at or above which two texts say the same

STOPWORDS = frozenset("""a an and the of for in on at to by with or other others all total except excl incl including
n e c nec store stores shop shops dealer dealers place places house houses retail retailer retailers sale sales
service services kind general misc miscellaneous related access accessory accessories supply supplies shopping
""".split())

REGION_MARKERS = {  # what a text says of where it is (each a list of patterns, any one counts)
    "GB": [re.compile(r"\b(?:uk|u\.k\.|britain|british|britons?|england|english|scotland|scottish|wales|welsh|"
                      r"london|high street|ftse|nhs|sunak)\b|£", re.IGNORECASE)],
    "US": [re.compile(r"\b(?:US|U\.S\.|USA)\b"),
           re.compile(r"\b(?:america|americans?|wall street|federal reserve|new york|california|texas)\b",
                      re.IGNORECASE)],
}
SOURCE_REGIONS = {"guardian": "GB", "bbc": "GB", "telegraph": "GB", "ft": "GB", "cnbc": "US", "wsj": "US",
                  "nyt": "US", "cnn": "US"}


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def words(text: str) -> set[str]:
    """The stemmed words of a text, stopwords left out."""
    return {_stem(w) for w in re.findall(r"[a-z][a-z'-]+", (text or "").lower()) if w not in STOPWORDS}


def terms(name: str) -> set[str]:
    """The words that say a text is about the category `name` (e.g. "Clothing stores" → {"clothing"})."""
    return {w for w in words(name) if len(w) >= 3}


def region_of(text: str, source: str | None) -> tuple[str | None, bool]:
    """(region, said in the text): the region a text names (GB before US: a British headline that mentions the
    Federal Reserve is still British news), else its source's home; (None, False) when neither is known."""
    for region, patterns in REGION_MARKERS.items():
        if any(p.search(text or "") for p in patterns):
            return region, True
    return SOURCE_REGIONS.get(str(source or "").lower()), False


def lexical(text: str, own: set[str], ancestors: set[str]) -> float:
    found = words(text)
    return OWN_TERM * min(len(own & found), 2) + ANCESTOR_TERM * min(len((ancestors - own) & found), 2)


def region_penalty(text: str, source: str | None, region: str | None) -> float:
    if region is None:
        return 0.0
    said, in_text = region_of(text, source)
    if said is None or said == region:
        return 0.0
    return REGION_TEXT if in_text else REGION_SOURCE


def specificity(doc_vectors: np.ndarray, query: np.ndarray, all_queries: np.ndarray | None) -> tuple[np.ndarray,
                                                                                                      np.ndarray]:
    """(similarity to the category's query, that less the median similarity to every category's query); without
    other categories' queries the specificity is the similarity."""
    sim = doc_vectors @ query
    if all_queries is None or len(all_queries) < 3:
        return sim, sim
    return sim, sim - np.median(doc_vectors @ all_queries.T, axis=1)


def rank(hits: list, doc_vectors: np.ndarray, query: np.ndarray, all_queries: np.ndarray | None, *,
         own: set[str], ancestors: set[str], region: str | None, k: int,
         min_relevance: float = MIN_RELEVANCE) -> list:
    """The k most relevant hits to the category (each with `score` = its relevance), near-duplicates left out,
    none below `min_relevance`."""
    from rapidfuzz import fuzz

    if not hits:
        return []
    sim, spec = specificity(doc_vectors, query, all_queries)
    scored = []
    for h, s, sp in zip(hits, sim, spec):
        text = h.content
        rel = float(sp) + lexical(text, own, ancestors) - region_penalty(text, h.source, region)
        if float(s) >= MIN_SIMILARITY and rel >= min_relevance:
            scored.append((rel, h))
    out: list = []
    for rel, h in sorted(scored, key=lambda x: (-x[0], x[1].doc_id)):
        if any(h.doc_id == o.doc_id or fuzz.token_set_ratio(h.text.lower(), o.text.lower()) >= DUPLICATE_RATIO
               for o in out):
            continue
        out.append(replace(h, score=round(rel, 6)))
        if len(out) == k:
            break
    return out
