"""The store on SQLite and PostgreSQL: the order query is keyed by the session's customer and never crosses
customers; the schema comes from Alembic migrations, which also take in databases made before them."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from retrieval import migrations
from retrieval.schema import Base
from retrieval.store import MissingDriver, Store
from tests.conftest import REPO
from tests.pg import on_both_stores


@on_both_stores
def test_customer_orders_returns_only_that_customers_orders(tiny_store):
    orders = tiny_store.customer_orders("C1")
    assert [o.id for o in orders] == ["1042"]
    assert orders[0].tracking_number == "1Z999AA10123456784"
    assert orders[0].lines[0].name == "Barista Oat Milk"
    assert orders[0].total == 6.98


@on_both_stores
def test_customer_orders_for_another_customer_never_include_the_first(tiny_store):
    assert [o.id for o in tiny_store.customer_orders("C2")] == ["1043"]


@on_both_stores
def test_orders_asked_for_by_number_are_only_the_customers_own(tiny_store):
    assert [o.id for o in tiny_store.customer_orders("C1", ids=["1042", "1043"])] == ["1042"]
    assert tiny_store.customer_orders("C2", ids=["1042"]) == []


@on_both_stores
def test_unknown_customer_sees_no_orders(tiny_store):
    assert tiny_store.customer_orders("C999") == []


@on_both_stores
def test_catalog_fingerprint_changes_with_product_text(tiny_store):
    from retrieval.schema import Product

    before = tiny_store.catalog_fingerprint()
    with tiny_store.transaction() as s:
        s.get(Product, "P2").description = "Now organic."
    assert tiny_store.catalog_fingerprint() != before


def test_a_scratch_copy_has_the_shop_and_keeps_its_writes_to_itself(tiny_store, tmp_path):
    from bot.assistant.conversations import Conversations
    from retrieval.schema import Conversation
    from retrieval.store import scratch_copy

    with scratch_copy(f"sqlite:///{tmp_path / 'shop.db'}") as url:
        copy = Store(url)
        assert [o.id for o in copy.customer_orders("C1")] == ["1042"]
        Conversations(copy).create("C1")
        with copy.session() as s:
            assert s.query(Conversation).count() == 1
        copy.engine.dispose()
    with tiny_store.session() as s:
        assert s.query(Conversation).count() == 0


def test_a_scratch_copy_of_a_server_database_is_that_database():
    from retrieval.store import scratch_copy

    with scratch_copy("postgresql+psycopg://shop@db/shop") as url:
        assert url == "postgresql+psycopg://shop@db/shop"


@on_both_stores
def test_product_tags_are_every_tag_any_product_carries(tiny_store):
    assert tiny_store.product_tags() == {"vegan", "dairy-free", "vegetarian", "gluten-free"}


def test_a_plain_postgresql_url_uses_psycopg_the_driver_the_postgres_extra_installs():
    assert Store("postgresql://shop@db/shop").engine.dialect.driver == "psycopg"
    assert Store("postgresql+psycopg://shop@db/shop").engine.dialect.driver == "psycopg"


def test_a_postgresql_store_without_psycopg_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as Python reports a package never installed
    with pytest.raises(MissingDriver) as raised:
        Store("postgresql+psycopg://shop@db/shop")
    assert str(raised.value) == "a PostgreSQL database needs psycopg: pip install 'shopbot[postgres]'"
    assert raised.value.name == "psycopg" and isinstance(raised.value, ModuleNotFoundError)


# --- migrations ----------------------------------------------------------------------------------------------


def schema_differences(store: Store) -> list:
    """What Alembic's autogenerate would change to make the database match the models: empty when they match."""
    with store.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def test_the_head_revision_shopbot_checks_for_is_the_newest_in_the_migrations_folder():
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(migrations.config()).get_heads() == [migrations.HEAD]


@on_both_stores
def test_a_new_database_upgraded_to_head_has_exactly_the_models_tables_columns_and_indexes(store_url):
    store = Store(store_url)
    assert store.schema_revision() is None
    store.create_schema()
    assert store.schema_revision() == migrations.HEAD
    assert schema_differences(store) == []
    assert set(inspect(store.engine).get_table_names()) == {*Base.metadata.tables, "alembic_version"}
    store.engine.dispose()


@on_both_stores
def test_a_database_the_models_created_before_migrations_is_stamped_and_left_as_it_is(store_url):
    store = Store(store_url)
    Base.metadata.create_all(store.engine)  # what shopbot did before it had migrations
    add_products(store)
    store.create_schema()
    assert store.schema_revision() == migrations.HEAD
    assert schema_differences(store) == []
    assert [p.id for p in store.products()] == ["P9"]
    store.engine.dispose()


def add_products(store: Store) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO products (id, name, category, tags, description) VALUES ('P9', 'Rye', 'Bread', '', '')")
        )


# The tables as the first shopbot created them (SQLite, from the models of that time): no conversation state,
# no feedback table. Rows in them must survive the upgrade.
FIRST_SCHEMA = """
CREATE TABLE products (id VARCHAR(64) NOT NULL, name VARCHAR(300) NOT NULL, brand VARCHAR(120),
    category VARCHAR(200) NOT NULL, size VARCHAR(60), price NUMERIC(10, 2), stock INTEGER,
    tags VARCHAR(500) NOT NULL, description TEXT NOT NULL, PRIMARY KEY (id));
CREATE TABLE policies (id VARCHAR(64) NOT NULL, title VARCHAR(200) NOT NULL, body TEXT NOT NULL, PRIMARY KEY (id));
CREATE TABLE customers (id VARCHAR(64) NOT NULL, name VARCHAR(200) NOT NULL, email VARCHAR(200), PRIMARY KEY (id));
CREATE TABLE orders (id VARCHAR(64) NOT NULL, customer_id VARCHAR(64) NOT NULL, placed_at DATETIME NOT NULL,
    status VARCHAR(20) NOT NULL, carrier VARCHAR(60), tracking_number VARCHAR(80), estimated_delivery DATE,
    delivered_at DATETIME, PRIMARY KEY (id), FOREIGN KEY(customer_id) REFERENCES customers (id));
CREATE INDEX ix_orders_customer_placed ON orders (customer_id, placed_at);
CREATE TABLE order_items (order_id VARCHAR(64) NOT NULL, product_id VARCHAR(64) NOT NULL, quantity INTEGER NOT NULL,
    unit_price NUMERIC(10, 2), position INTEGER NOT NULL, PRIMARY KEY (order_id, product_id),
    FOREIGN KEY(order_id) REFERENCES orders (id), FOREIGN KEY(product_id) REFERENCES products (id));
CREATE INDEX ix_order_items_product_id ON order_items (product_id);
CREATE TABLE conversations (id VARCHAR(64) NOT NULL, customer_id VARCHAR(64), created_at DATETIME NOT NULL,
    PRIMARY KEY (id), FOREIGN KEY(customer_id) REFERENCES customers (id));
CREATE INDEX ix_conversations_customer_id ON conversations (customer_id);
CREATE TABLE messages (id INTEGER NOT NULL, conversation_id VARCHAR(64) NOT NULL, role VARCHAR(20) NOT NULL,
    content TEXT NOT NULL, status VARCHAR(20) NOT NULL, created_at DATETIME NOT NULL, meta JSON NOT NULL,
    PRIMARY KEY (id), FOREIGN KEY(conversation_id) REFERENCES conversations (id));
CREATE INDEX ix_messages_conversation_id ON messages (conversation_id);
INSERT INTO customers VALUES ('C1', 'Ada Shopper', NULL);
INSERT INTO conversations VALUES ('c-old', 'C1', '2026-11-01 10:00:00');
INSERT INTO messages VALUES (1, 'c-old', 'user', 'hello', 'complete', '2026-11-01 10:00:00', '{}');
"""


def test_a_first_schema_sqlite_database_is_upgraded_to_head_keeping_its_rows(tmp_path):
    from bot.assistant.conversations import Conversations
    from retrieval.schema import ConversationState

    with sqlite3.connect(tmp_path / "old.db") as db:
        db.executescript(FIRST_SCHEMA)
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    with store.engine.connect() as connection:
        assert migrations.legacy_revision(connection) == "0001"
    store.create_schema()
    assert store.schema_revision() == migrations.HEAD
    assert schema_differences(store) == []
    conversations = Conversations(store)
    assert conversations.state("c-old") == ConversationState.bot  # the new column's default fills old rows
    assert [m.content for m in conversations.messages("c-old", "C1")] == ["hello"]


def test_replicas_upgrading_one_new_postgresql_database_at_once_all_succeed(fresh_postgres_url):
    """Three processes, as replicas starting together: the advisory lock lets one migrate, the others find it done."""
    script = "import sys\nfrom retrieval.store import Store\nStore(sys.argv[1]).create_schema()\n"
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", script, fresh_postgres_url], cwd=REPO, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    errors = [replica.communicate(timeout=120)[1] for replica in replicas]
    assert [replica.returncode for replica in replicas] == [0, 0, 0], errors
    store = Store(fresh_postgres_url)
    assert store.schema_revision() == migrations.HEAD and schema_differences(store) == []
    store.engine.dispose()
