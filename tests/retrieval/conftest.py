"""Fixtures for the ingest and import tests: an empty shop database on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from retrieval.schema import Base
from retrieval.store import Store


@pytest.fixture
def ingest_store(store_url) -> Iterator[Store]:
    """An empty shop database (schema created): a SQLite file, or PostgreSQL for tests marked `on_both_stores`."""
    store = Store(store_url)
    store.create_schema()
    yield store
    store.engine.dispose()


def dump_tables(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: compare two dumps to see any change."""
    with store.session() as session:
        return {
            table.name: [tuple(row) for row in session.execute(select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
def ingest_dump():
    """`ingest_dump(store)`: the full table dump of `dump_tables`."""
    return dump_tables
