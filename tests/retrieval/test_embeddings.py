"""Queries are embedded one at a time and documents in batches: both must land on the same vectors."""

import numpy as np

TEXTS = [
    "is the oat milk in stock?",
    "What's your return policy for opened items?",
    "gluten-free pasta under $5",
    "Barista Oat Milk | Oatly | 1 L | $3.49 | in stock (12)",
]


def test_a_single_query_gets_the_vector_batch_encoding_gives_it(embedder):
    batch = embedder.embed(TEXTS)
    one_by_one = np.concatenate([embedder.embed([t]) for t in TEXTS])
    assert one_by_one.shape == (len(TEXTS), embedder.dim) and one_by_one.dtype == np.float32
    np.testing.assert_allclose(one_by_one, batch, atol=1e-5)


def test_vectors_are_unit_length_and_tell_texts_apart(embedder):
    vectors = np.concatenate([embedder.embed([t]) for t in TEXTS])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 3] > similarity[0, 1]  # the oat milk question is closest to the oat milk product
