"""BM25 over the same SearchDocs, for exact brand, product-name and size matches that embeddings blur."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi

from retrieval.documents import SearchDoc

_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from have how i in is it me my of on or the to what when "
    "where which with you your any some there this that".split()
)


def tokenize(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS]


class LexicalIndex:
    def __init__(self, docs: Sequence[SearchDoc]) -> None:
        self.docs = list(docs)
        corpus = [tokenize(f"{d.title} {d.text}") for d in self.docs]
        self._bm25 = BM25Okapi(corpus) if self.docs else None

    def search(self, query: str, k: int) -> list[tuple[SearchDoc, float]]:
        terms = tokenize(query)
        if self._bm25 is None or not terms or k <= 0:
            return []
        scores = self._bm25.get_scores(terms)
        top = np.argsort(-scores)[:k]
        return [(self.docs[i], float(scores[i])) for i in top if scores[i] > 0]
