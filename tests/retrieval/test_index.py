"""FAISS indexes persist with their id mapping and rebuild exactly when data or embedder change."""

import shutil

import faiss
import numpy as np

from retrieval.documents import policy_docs, product_docs
from retrieval.embeddings import SentenceTransformerEmbedder, bundled_embedder_path
from retrieval.index import VectorIndex, load_or_build, new_faiss_index
from retrieval.schema import Product


def test_saved_index_is_reused_when_nothing_changed(tiny_store, embedder, tmp_path):
    docs = product_docs(tiny_store.products())
    first, rebuilt = load_or_build(tmp_path / "products", docs, embedder)
    assert rebuilt
    again, rebuilt = load_or_build(tmp_path / "products", docs, embedder)
    assert not rebuilt
    assert [d.id for d in again.docs] == [d.id for d in first.docs] == ["P1", "P2", "P3", "P4"]


def test_index_rebuilds_when_a_product_changes(tiny_store, embedder, tmp_path):
    load_or_build(tmp_path / "products", product_docs(tiny_store.products()), embedder)
    with tiny_store.transaction() as s:
        s.get(Product, "P4").description = "Thin spaghetti, cooks in 7 minutes."
    index, rebuilt = load_or_build(tmp_path / "products", product_docs(tiny_store.products()), embedder)
    assert rebuilt
    assert "7 minutes" in next(d.text for d in index.docs if d.id == "P4")


def test_index_rebuilds_when_the_embedder_changes(tiny_store, embedder, tmp_path):
    docs = product_docs(tiny_store.products())
    load_or_build(tmp_path / "products", docs, embedder)
    other_folder = tmp_path / "my-shop-embedder"
    shutil.copytree(bundled_embedder_path(), other_folder)
    _, rebuilt = load_or_build(tmp_path / "products", docs, SentenceTransformerEmbedder(other_folder))
    assert rebuilt


def test_search_maps_rows_back_to_products(tiny_store, embedder):
    index = VectorIndex.build(product_docs(tiny_store.products()), embedder)
    top, _ = index.search(embedder.embed(["oat drink for coffee"])[0], 1)[0]
    assert top.id == "P1"


def test_policies_are_chunked_and_keep_their_policy_id(tiny_store):
    docs = policy_docs(tiny_store.policies())
    returns = [d for d in docs if d.source_id == "returns"]
    assert len(returns) == 2  # one chunk per ## section
    assert {d.id for d in returns} == {"returns#0", "returns#1"}
    assert "48 hours" in returns[1].text


def test_large_catalogs_get_an_approximate_index_that_finds_the_same_items(embedder):
    assert isinstance(new_faiss_index(384, 10_000), faiss.IndexFlatIP)
    assert isinstance(new_faiss_index(384, 60_000), faiss.IndexHNSWFlat)
    from retrieval.documents import SearchDoc

    docs = [
        SearchDoc(id=f"D{i}", source_id=f"D{i}", kind="product", title=t, text=t)
        for i, t in enumerate(
            f"{adj} {noun}"
            for adj in ["red", "green", "oat", "dark", "salted", "organic"]
            for noun in ["milk", "apples", "bread", "chocolate", "butter", "coffee", "rice"]
        )
    ]
    exact = VectorIndex.build(docs, embedder)
    hnsw = VectorIndex.build(docs, embedder, exact_max_items=10)
    assert isinstance(hnsw.index, faiss.IndexHNSWFlat)
    query = embedder.embed(["oat milk"])[0]
    assert [d.id for d, _ in hnsw.search(query, 3)] == [d.id for d, _ in exact.search(query, 3)]
    assert np.isclose(hnsw.search(query, 1)[0][1], exact.search(query, 1)[0][1])
