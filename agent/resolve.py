"""Category resolution: the category text of a question → one series (exact, then fuzzy, then semantic)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from trendcast.agent.question import QuestionError

FUZZY_MIN = 86.0  # rapidfuzz WRatio (0..100) needed for a fuzzy match
TIE_MARGIN = 2.0  # candidates within this of the best are a tie → ambiguous
SEMANTIC_MIN = 0.55  # cosine similarity needed for a semantic match (MiniLM: "cars" → Automobile dealers 0.66)
SEMANTIC_TIE = 0.03  # a runner-up this close makes it ambiguous

_SYNONYMS = [
    (re.compile(r"\bdepartment\b|\bdepartments\b"), "dept"),
    (re.compile(r"\be-?commerce\b|\bonline\b"), "electronic shopping and mail-order houses"),
    (re.compile(r"&"), " and "),
]


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


def resolve_category(
    text: str,
    series: pd.DataFrame,
    semantic: Callable[[str, list[str]], np.ndarray] | None = None,
) -> Target:
    """Pick the series the user means. `series` is SalesStore.series(); `semantic(text, names)` returns cosine
    similarities of text to each name (optional: only called when exact and fuzzy matching found nothing)."""
    if series.empty:
        raise QuestionError("the workspace holds no sales yet: run `trendcast ingest sales FILE` (or `trendcast demo`)")
    want = _norm(text)
    ids = series["unique_id"].astype(str)
    for how, keys in (("id", ids), ("exact", series["code"].fillna("").astype(str)),
                      ("exact", series["name"].astype(str))):
        hit = series[keys.map(_norm) == want]
        if len(hit) == 1:
            return Target.from_row(hit.iloc[0], how)
        if len(hit) > 1:
            raise AmbiguousCategory(text, list(zip(hit["unique_id"], hit["name"])))

    from rapidfuzz import fuzz, process

    names = [_norm(n) for n in series["name"].astype(str)]
    scored = process.extract(want, names, scorer=fuzz.WRatio, limit=12)
    good = [(score, idx) for _, score, idx in scored if score >= FUZZY_MIN]
    if good:
        best = good[0][0]
        tied = [idx for score, idx in good if score >= best - TIE_MARGIN]
        if len(tied) == 1:
            return Target.from_row(series.iloc[tied[0]], "fuzzy")
        rows = series.iloc[tied]
        raise AmbiguousCategory(text, list(zip(rows["unique_id"], rows["name"])))

    if semantic is not None:
        sims = np.asarray(semantic(text, list(series["name"].astype(str))), dtype=float)
        order = np.argsort(-sims)
        if sims[order[0]] >= SEMANTIC_MIN:
            if len(order) > 1 and sims[order[1]] >= sims[order[0]] - SEMANTIC_TIE:
                rows = series.iloc[order[:4]]
                raise AmbiguousCategory(text, list(zip(rows["unique_id"], rows["name"])))
            return Target.from_row(series.iloc[order[0]], "semantic")

    close = [series.iloc[idx]["name"] for _, _, idx in scored[:5]]
    raise QuestionError(f"no category matches {text!r}; closest: {', '.join(map(str, close))}")
