"""Shop data: the store, ingest, embeddings, FAISS indexes and retrieval."""
