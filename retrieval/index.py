"""Builds, saves, loads and searches a FAISS index over SearchDocs.

An index on disk carries its id mapping and a fingerprint of the data and the embedder; a
fingerprint mismatch means the index is stale and gets rebuilt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import faiss
import numpy as np

from retrieval.documents import SearchDoc
from retrieval.embeddings import Embedder

EXACT_SEARCH_MAX_ITEMS = 50_000
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 128


def docs_fingerprint(docs: Sequence[SearchDoc], embedder: Embedder) -> str:
    digest = hashlib.sha256(embedder.fingerprint.encode())
    for d in docs:
        digest.update(f"{d.id}\x1f{d.text}\x1e".encode())
    return digest.hexdigest()


def new_faiss_index(dim: int, n_items: int, exact_max_items: int = EXACT_SEARCH_MAX_ITEMS) -> faiss.Index:
    """Exact inner product for small catalogs; HNSW where an exact scan gets slow (past `exact_max_items`)."""
    if n_items <= exact_max_items:
        return faiss.IndexFlatIP(dim)
    index = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


class VectorIndex:
    def __init__(self, index: faiss.Index, docs: list[SearchDoc], fingerprint: str) -> None:
        self.index = index
        self.docs = docs
        self.fingerprint = fingerprint

    @classmethod
    def build(
        cls,
        docs: Sequence[SearchDoc],
        embedder: Embedder,
        *,
        progress: bool = False,
        exact_max_items: int = EXACT_SEARCH_MAX_ITEMS,
    ) -> VectorIndex:
        docs = list(docs)
        index = new_faiss_index(embedder.dim, len(docs), exact_max_items)
        if docs:
            vectors = embedder.embed([d.text for d in docs], progress=progress)
            index.add(vectors)
        return cls(index, docs, docs_fingerprint(docs, embedder))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "index.faiss.tmp"
        faiss.write_index(self.index, str(tmp))
        tmp.replace(folder / "index.faiss")
        meta = {"fingerprint": self.fingerprint, "docs": [asdict(d) for d in self.docs]}
        (folder / "meta.json.tmp").write_text(json.dumps(meta))
        (folder / "meta.json.tmp").replace(folder / "meta.json")

    @classmethod
    def load(cls, folder: Path) -> VectorIndex | None:
        meta_file, index_file = folder / "meta.json", folder / "index.faiss"
        if not (meta_file.is_file() and index_file.is_file()):
            return None
        meta = json.loads(meta_file.read_text())
        docs = [SearchDoc(**d) for d in meta["docs"]]
        index = faiss.read_index(str(index_file))
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efSearch = HNSW_EF_SEARCH
        return cls(index, docs, meta["fingerprint"])

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[SearchDoc, float]]:
        if k <= 0 or not self.docs:
            return []
        scores, rows = self.index.search(query_vector.reshape(1, -1), min(k, len(self.docs)))
        return [(self.docs[r], float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]


def load_or_build(
    folder: Path, docs: Sequence[SearchDoc], embedder: Embedder, *, progress: bool = False
) -> tuple[VectorIndex, bool]:
    """The saved index if it matches these docs and this embedder, else a fresh one (saved). Returns (index, rebuilt)."""
    wanted = docs_fingerprint(docs, embedder)
    existing = VectorIndex.load(folder)
    if existing is not None and existing.fingerprint == wanted:
        return existing, False
    built = VectorIndex.build(docs, embedder, progress=progress)
    built.save(folder)
    return built, True
