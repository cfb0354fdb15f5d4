"""`TrendcastRetriever`: DocIndex.search behind LangChain's BaseRetriever, with a fixed as-of date."""
from __future__ import annotations

from datetime import date
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .doc_index import DocIndex
from .hits import Hit


def hit_to_document(hit: Hit) -> Document:
    """page_content: title, text and body; metadata: id, doc_id, date (ISO), kind, source, score, title, url, tags."""
    meta = hit.as_dict()
    meta.pop("text")
    meta.pop("body")
    return Document(page_content=hit.content, metadata=meta, id=hit.id)


class TrendcastRetriever(BaseRetriever):
    """Documents by meaning from a trendcast index; nothing dated after `as_of` comes back."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: DocIndex
    as_of: date | None = None
    since: date | None = None
    k: int = 10
    kinds: list[str] | None = None
    categories: list[str] | None = None
    mmr: float | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[Document]:
        hits = self.index.search(query, as_of=self.as_of, since=self.since, kinds=self.kinds,
                                 categories=self.categories, k=self.k, mmr=self.mmr)
        return [hit_to_document(h) for h in hits]
