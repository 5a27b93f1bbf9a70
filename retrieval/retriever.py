"""Hybrid retrieval over a shop's products and policies: dense FAISS search fused with BM25.

Fusion is reciprocal-rank, so the two scorers need no common scale; each kind (products, policy
chunks) has its own pair of indexes, and results come back as hits with the source they cite.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from retrieval.documents import SearchDoc, policy_docs, policy_sentence_docs, product_docs
from retrieval.embeddings import Embedder
from retrieval.index import VectorIndex, load_or_build
from retrieval.lexical import LexicalIndex, mention, tokenize
from retrieval.spelling import words_of
from retrieval.store import Store

RRF_K = 60
# Added per word of `mention`: larger than any fused score, so the products a question names come first.
MENTION_BOOST = 1.0
CANDIDATES_PER_SCORER = 30
QUERY_VECTORS_CACHED = 64
# Single policy sentences, the units a policy answer is made of (policy chunks are what the model reads).
POLICY_SENTENCES = "policy_sentences"
# BM25 counts for less among single sentences: a sentence shares few words with a question, and a common one
# ("order", "delivery") outranks the sentence that answers (measured in docs/benchmarks.md).
LEXICAL_SHARE = {POLICY_SENTENCES: 0.5}


@dataclass(frozen=True)
class Hit:
    doc: SearchDoc
    score: float
    # the dense scorer's cosine similarity to the query; None for a document only BM25 found
    similarity: float | None = None


@dataclass
class KindIndex:
    dense: VectorIndex
    lexical: LexicalIndex | None
    # the embedder of a kind searched with its own (policy sentences with the policy reader); None: the retriever's
    embedder: Embedder | None = None


def fuse(rankings: list[list[SearchDoc]], weights: list[float]) -> list[Hit]:
    scores: dict[str, float] = {}
    by_id: dict[str, SearchDoc] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, doc in enumerate(ranking):
            by_id[doc.id] = doc
            scores[doc.id] = scores.get(doc.id, 0.0) + weight / (RRF_K + rank + 1)
    ordered = sorted(scores, key=lambda i: -scores[i])
    return [Hit(by_id[i], scores[i]) for i in ordered]


def named_first(hits: list[Hit], terms: set[str]) -> list[Hit]:
    boosted = [Hit(h.doc, h.score + MENTION_BOOST * mention(h.doc, terms)) for h in hits]
    return sorted(boosted, key=lambda h: -h.score)


class Retriever:
    """Searches products and policies; `lexical_weight=0` gives dense-only search for comparison."""

    def __init__(self, embedder: Embedder, kinds: dict[str, KindIndex], lexical_weight: float = 1.0) -> None:
        self.embedder = embedder
        self.kinds = kinds
        self.lexical_weight = lexical_weight
        self._sentences: dict[tuple[str, int], SearchDoc] | None = None
        # one turn embeds its question for products, policies and tool routing: once, not three times
        self.embed = lru_cache(maxsize=QUERY_VECTORS_CACHED)(_vector_of(embedder))
        self._embed_for = {
            id(k.embedder): lru_cache(maxsize=QUERY_VECTORS_CACHED)(_vector_of(k.embedder))
            for k in kinds.values()
            if k.embedder is not None
        }

    @classmethod
    def open(
        cls,
        store: Store,
        embedder: Embedder,
        index_dir: Path,
        *,
        lexical_weight: float = 1.0,
        progress: bool = False,
        policy_reader: Embedder | None = None,
    ) -> Retriever:
        """Load the saved indexes, rebuilding any whose data or embedder changed.

        `policy_reader`: the embedder tuned to match shoppers' questions with the policy sentence that answers
        them (adapters/policy_reader.py); with it, policy sentences are searched by it alone: BM25 fused in
        lowered how often the answering sentence came first (measured in docs/benchmarks.md)."""
        kinds: dict[str, KindIndex] = {}
        policies = store.policies()
        for kind, docs in (
            ("products", product_docs(store.products())),
            ("policies", policy_docs(policies)),
            (POLICY_SENTENCES, policy_sentence_docs(policies)),
        ):
            own = policy_reader if kind == POLICY_SENTENCES else None
            dense, _ = load_or_build(index_dir / kind, docs, own or embedder, progress=progress)
            lexical = LexicalIndex(dense.docs) if lexical_weight > 0 and own is None else None
            kinds[kind] = KindIndex(dense, lexical, own)
        return cls(embedder, kinds, lexical_weight)

    def forget_queries(self) -> None:
        """Empty the query-vector caches (a benchmark times each search with its embedding)."""
        self.embed.cache_clear()
        for cached in self._embed_for.values():
            cached.cache_clear()

    def sentence_beside(self, doc: SearchDoc, step: int) -> SearchDoc | None:
        """The policy sentence `step` places from `doc`, where it is in the same section."""
        if self._sentences is None:
            docs = self.kinds[POLICY_SENTENCES].dense.docs if POLICY_SENTENCES in self.kinds else []
            self._sentences = {(d.source_id, d.metadata.get("position")): d for d in docs}
        near = self._sentences.get((doc.source_id, doc.metadata.get("position", 0) + step))
        return near if near is not None and near.metadata.get("section") == doc.metadata.get("section") else None

    def vocabulary(self, products: bool | None = None) -> set[str]:
        """The words of the indexed documents: every one (what a misspelt question is corrected toward), or
        only the catalog's (`products=True`) or only the rest's (`False`)."""
        return words_of(
            d.text
            for k in self.kinds.values()
            for d in k.dense.docs
            if products is None or (d.kind == "product") == products
        )

    def search(self, query: str, kind: str, k: int, min_similarity: float = 0.0, *, vector=None) -> list[Hit]:
        """The top k; with `min_similarity`, only documents at least that close to the query (cosine),
        or found by BM25 through a word of their name, brand or category, or two words, while nothing is that
        close: "where is my order?" then brings no products.
        `vector`: the query's embedding by the retriever's embedder when the caller already has it (a kind searched
        with its own embedder embeds the query itself)."""
        if k <= 0:
            return []
        return self._search_with_vector(query, self.embed(query) if vector is None else vector, kind, k, min_similarity)

    def search_all(self, query: str, k: int) -> list[Hit]:
        """Products and policy chunks in one ranking, for callers that want 'whatever answers this'."""
        vector = self.embed(query)
        hits = [h for kind in ("products", "policies") for h in self._search_with_vector(query, vector, kind, k)]
        return sorted(hits, key=lambda h: -h.score)[:k]

    def _search_with_vector(self, query: str, vector, kind: str, k: int, min_similarity: float = 0.0) -> list[Hit]:
        index = self.kinds[kind]
        if index.embedder is not None:
            vector = self._embed_for[id(index.embedder)](query)
        scored = index.dense.search(vector, max(k, CANDIDATES_PER_SCORER))
        similarity = {d.id: float(sim) for d, sim in scored}
        dense = [d for d, sim in scored if sim >= min_similarity]
        if index.lexical is None:
            return [Hit(d, 1.0 / (RRF_K + r + 1), similarity[d.id]) for r, d in enumerate(dense)][:k]
        words = tokenize(query)
        lexical = [d for d, _ in index.lexical.search(words, CANDIDATES_PER_SCORER)]
        terms = set(words)
        if min_similarity > 0:
            close = {d.id for d in dense}
            unscored = {d.id for d, _ in scored} - close  # seen by the dense scorer and found too far
            lexical = [
                d for d in lexical if d.id not in unscored and (d.kind != "product" or index.lexical.related(d, terms))
            ]
        weight = self.lexical_weight * LEXICAL_SHARE.get(kind, 1.0)
        ranked = named_first(fuse([dense, lexical], [1.0, weight]), terms)[:k]
        return [Hit(h.doc, h.score, similarity.get(h.doc.id)) for h in ranked]


def _vector_of(embedder: Embedder):
    def vector(query: str):
        """The query's vector (read-only: it is shared through a cache)."""
        v = embedder.embed([query])[0]
        v.setflags(write=False)
        return v

    return vector
