"""BM25 over the same SearchDocs, for exact brand, product-name and size matches that embeddings blur."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import snowballstemmer
from rank_bm25 import BM25Okapi

from retrieval.documents import SearchDoc

# Letters and numbers apart, so "4L" matches a product sized "4 L" and "93/7" matches "93/7".
_TOKEN = re.compile(r"[a-z]+|[0-9]+(?:\.[0-9]+)?")
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from have how i in is it me my of on or the to what when "
    "where which with you your any some there this that".split()
)
MIN_MENTION_WORDS = 2
_STEMMERS = threading.local()  # a snowball stemmer keeps state between calls: one per thread


def tokenize(text: str) -> list[str]:
    """Stemmed words: "riced" finds "rice", "cookies" finds "cookie"."""
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return stemmer.stemWords([t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS])


@lru_cache(maxsize=8192)
def _words_of(*parts: str | None) -> frozenset[str]:
    return frozenset(tokenize(" ".join(p for p in parts if p)))


def names_any(doc: SearchDoc, query_terms: set[str]) -> bool:
    """Whether the query uses a word of the document's title, brand or category ("parmesean cheese" and
    the parmesan's category, Cheese)."""
    return bool(_words_of(doc.title, doc.metadata.get("brand"), doc.metadata.get("category")) & query_terms)


def mention(doc: SearchDoc, query_terms: set[str]) -> int:
    """How fully the query names this product (`naming`); 0 for a document that is not a product.

    "Meadowvale Grated Parmesan 200 g" names both the 200 g and the 400 g tub, the 200 g more fully;
    rank fusion alone often ties them, and a small model answers from whichever comes first.
    """
    if doc.kind != "product":
        return 0
    return naming(query_terms, doc.title, doc.metadata.get("brand"), doc.metadata.get("size"))


def naming(
    query_terms: set[str],
    name: str,
    brand: str | None = None,
    size: str | None = None,
    min_words: int = MIN_MENTION_WORDS,
) -> int:
    """How many of a product's name, brand and size words the query uses, if it uses every word of the
    name and at least `min_words` in all (else 0: "lime fizzy water" does not name "Limes")."""
    words = _words_of(name)
    if not words or not words <= query_terms:
        return 0
    matched = len(_words_of(name, brand, size) & query_terms)
    return matched if matched >= min_words else 0


def uses_phrase(query_words: Sequence[str], phrase: str) -> bool:
    """Whether the query's words hold the phrase's words in a row: "dairy free" and "dairy-free" both
    use "dairy-free"; "free of dairy" does not."""
    words = tokenize(phrase)
    n = len(words)
    return n > 0 and any(list(query_words[i : i + n]) == words for i in range(len(query_words) - n + 1))


class LexicalIndex:
    def __init__(self, docs: Sequence[SearchDoc]) -> None:
        self.docs = list(docs)
        corpus = [tokenize(f"{d.title} {d.text}") for d in self.docs]
        self._words = {d.id: frozenset(words) for d, words in zip(self.docs, corpus)}
        self._bm25 = BM25Okapi(corpus) if self.docs else None

    def search(self, terms: list[str], k: int) -> list[tuple[SearchDoc, float]]:
        """The top k for a query's `tokenize`d words (the caller has them already for `mention`)."""
        if self._bm25 is None or not terms or k <= 0:
            return []
        scores = self._bm25.get_scores(terms)
        top = np.argsort(-scores)[:k]
        return [(self.docs[i], float(scores[i])) for i in top if scores[i] > 0]

    def related(self, doc: SearchDoc, query_terms: set[str]) -> bool:
        """A match worth showing though the embeddings found it far: the query names the product (a word
        of its name, brand or category), or shares two words with it. One word of a blurb is not enough:
        "can I change my delivery window?" and a glass cleaner "for windows"."""
        return names_any(doc, query_terms) or len(self._words.get(doc.id, frozenset()) & query_terms) >= 2
