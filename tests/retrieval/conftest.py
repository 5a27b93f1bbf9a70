"""Fixtures for the ingest and import tests: an empty shop database on a real SQLite file."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from retrieval.schema import Base
from retrieval.store import Store


@pytest.fixture
def ingest_store(tmp_path) -> Store:
    """An empty shop database (schema created) in a SQLite file."""
    store = Store(f"sqlite:///{tmp_path / 'ingest.db'}")
    store.create_schema()
    return store


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
