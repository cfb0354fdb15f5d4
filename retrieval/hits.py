"""`Hit`: one search result — a document, its similarity to the query, and its evidence id."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .texts import content


@dataclass(frozen=True)
class Hit:
    doc_id: int
    date: date | None  # None: undated (valid from the start)
    kind: str
    source: str | None
    title: str | None
    text: str  # the one line shown to people (a headline, a product title)
    body: str | None  # longer text embedded with it (a news description), if any
    url: str | None
    score: float  # cosine similarity to the query (after MMR re-ranking, still the query similarity)
    categories: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The evidence id an LLM cites: "D<doc_id>"."""
        return f"D{self.doc_id}"

    @property
    def content(self) -> str:
        """Title, text and body joined — what was embedded."""
        return content(self.title, self.text, self.body)

    def as_dict(self) -> dict:
        """JSON-ready: id, doc_id, date (ISO or null), kind, source, title, text, body, url, score, categories."""
        return {"id": self.id, "doc_id": self.doc_id, "date": self.date.isoformat() if self.date else None,
                "kind": self.kind, "source": self.source, "title": self.title, "text": self.text, "body": self.body,
                "url": self.url, "score": round(self.score, 6), "categories": list(self.categories)}

    @classmethod
    def from_row(cls, row: tuple, score: float) -> "Hit":
        doc_id, kind, day, title, text, body, source, url, categories = row
        return cls(doc_id=int(doc_id), date=day, kind=kind, source=source, title=title, text=text, body=body,
                   url=url, score=float(score), categories=tuple(categories or ()))
