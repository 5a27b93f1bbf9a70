"""Shared real fixtures: the bundled embedder and chat model (loaded once), and tiny real shops."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
# The safetensors copy of the bundled model is shared with `make setup`, so tests don't re-convert the GGUF.
MODEL_CACHE = Path(os.environ.get("SHOPBOT_TEST_MODEL_CACHE", REPO / "var" / "models"))


def seed_routing_index(data_dir: Path) -> None:
    """Copy the routing phrasings' index `make setup` built into a fresh data folder.

    It depends on the phrasings and the embedder, not on the shop, and its fingerprint is checked on
    load (a stale copy is rebuilt): a command in a new folder skips re-embedding the same phrasings.
    """
    built, target = REPO / "var" / "index" / "routing", data_dir / "index" / "routing"
    if built.is_dir() and not target.exists():
        shutil.copytree(built, target)


@pytest.fixture(scope="session")
def shipped_router(embedder, tmp_path_factory):
    """The router the shipped adapter's phrasings fit, calibration included (its index seeded from var/)."""
    from bot.assistant.intents import IntentRouter
    from bot.settings import ROUTING_FILE, SHIPPED_ADAPTER

    folder = tmp_path_factory.mktemp("shipped-router")
    seed_routing_index(folder)
    return IntentRouter.open(SHIPPED_ADAPTER / ROUTING_FILE, embedder, folder / "index" / "routing")


@pytest.fixture(scope="session")
def embedder():
    from retrieval.embeddings import load_embedder

    return load_embedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def loaded_model():
    from bot.inference.model import load_model

    return load_model(None, MODEL_CACHE)


@pytest.fixture(scope="session")
def generator(loaded_model):
    from bot.inference.generator import SamplingConfig, TransformersGenerator

    return TransformersGenerator(loaded_model, SamplingConfig(max_new_tokens=24))


def add_tiny_shop(store) -> None:
    """Two customers with their own orders, a few products and two policies."""
    from retrieval.schema import Customer, Order, OrderItem, Policy, Product

    with store.transaction() as s:
        s.add_all(
            [
                Product(
                    id="P1",
                    name="Barista Oat Milk",
                    brand="Oatbury",
                    category="Plant-Based > Plant Milk",
                    size="1 L",
                    price=Decimal("3.49"),
                    stock=23,
                    tags="vegan;dairy-free",
                    description="Creamy oat drink that foams for lattes.",
                ),
                Product(
                    id="P2",
                    name="Whole Milk",
                    brand="Meadowvale",
                    category="Dairy & Eggs > Milk",
                    size="2 L",
                    price=Decimal("2.99"),
                    stock=0,
                    tags="vegetarian",
                    description="Fresh whole cow's milk from local farms.",
                ),
                Product(
                    id="P3",
                    name="Gluten-Free Oat Granola",
                    brand="Sunrise Mill",
                    category="Breakfast > Cereal",
                    size="400 g",
                    price=Decimal("4.79"),
                    stock=12,
                    tags="gluten-free;vegan",
                    description="Crunchy granola with honey-free clusters, made without gluten.",
                ),
                Product(
                    id="P4",
                    name="Spaghetti No. 5",
                    brand="Casa Rossi",
                    category="Pantry > Pasta",
                    size="500 g",
                    price=Decimal("1.89"),
                    stock=40,
                    tags="vegan",
                    description="Bronze-cut durum wheat spaghetti.",
                ),
                Policy(
                    id="returns",
                    title="Returns and refunds",
                    body="## Returns\nUnopened non-perishables can be returned within 30 days for a full refund.\n\n"
                    "## Perishables\nReport spoiled perishables within 48 hours and we refund them.",
                ),
                Policy(
                    id="shipping",
                    title="Shipping",
                    body="Shipping is free on orders over $50. Otherwise delivery costs $4.99.",
                ),
                Customer(id="C1", name="Ada Shopper", email="ada@example.com"),
                Customer(id="C2", name="Bob Other", email="bob@example.com"),
                Order(
                    id="1042",
                    customer_id="C1",
                    placed_at=datetime(2026, 11, 18, 9, 30),
                    status="shipped",
                    carrier="UPS",
                    tracking_number="1Z999AA10123456784",
                ),
                Order(
                    id="1043",
                    customer_id="C2",
                    placed_at=datetime(2026, 11, 19, 10, 0),
                    status="delivered",
                    carrier="FedEx",
                    tracking_number="771234567890",
                    delivered_at=datetime(2026, 11, 20, 15, 0),
                ),
            ]
        )
        s.add_all(
            [
                OrderItem(order_id="1042", product_id="P1", quantity=2, unit_price=Decimal("3.49"), position=1),
                OrderItem(order_id="1043", product_id="P4", quantity=1, unit_price=Decimal("1.89"), position=1),
            ]
        )


@pytest.fixture
def store_url(request, tmp_path) -> str:
    """An empty shop database's URL: a SQLite file, or where a test is marked `on_both_stores` (tests/pg.py) a
    new PostgreSQL database in its second run."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return request.getfixturevalue("fresh_postgres_url")
    return f"sqlite:///{tmp_path / 'shop.db'}"


@pytest.fixture
def tiny_store(store_url):
    from retrieval.store import Store

    store = Store(store_url)
    store.create_schema()
    add_tiny_shop(store)
    yield store
    store.engine.dispose()


@pytest.fixture
def tiny_engine(tiny_store, embedder, generator, tmp_path):
    """The real engine over the tiny shop: real SQLite, FAISS, BM25 and the bundled model."""
    from bot.assistant.engine import ChatEngine
    from bot.settings import Settings
    from retrieval.retriever import Retriever

    settings = Settings(data_dir=tmp_path, max_new_tokens=12, top_k_products=2, top_k_policies=1)
    retriever = Retriever.open(tiny_store, embedder, settings.index_dir)
    return ChatEngine(settings, tiny_store, retriever, generator)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """The committed demo shop, loaded through the ingest path into its own database and indexes."""
    from retrieval.demo import DEMO_DATA_DIR
    from retrieval.ingest import ingest_shop
    from retrieval.store import Store

    folder = tmp_path_factory.mktemp("demo")
    store = Store(f"sqlite:///{folder / 'shop.db'}")
    store.create_schema()
    ingest_shop(store, DEMO_DATA_DIR)
    return folder


@pytest.fixture(scope="session")
def demo_store(demo_dir):
    from retrieval.store import Store

    return Store(f"sqlite:///{demo_dir / 'shop.db'}")


@pytest.fixture(scope="session")
def policy_reader():
    """The shipped policy reader (adapters/demo/policy_reader), as the server loads it."""
    from bot.settings import POLICY_READER_DIR, SHIPPED_ADAPTER
    from retrieval.embeddings import load_embedder

    return load_embedder("all-MiniLM-L6-v2", SHIPPED_ADAPTER / POLICY_READER_DIR)


@pytest.fixture(scope="session")
def demo_retriever(demo_store, embedder, policy_reader, demo_dir):
    from retrieval.retriever import Retriever

    return Retriever.open(demo_store, embedder, demo_dir / "index", policy_reader=policy_reader)


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL cluster for the whole run (tests/pg.py); fails, never skips, without PostgreSQL."""
    from tests.pg import PostgresCluster

    try:
        cluster = PostgresCluster.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster) -> str:
    """A SQLAlchemy URL for an empty PostgreSQL database shared by the run."""
    return postgres_cluster.create_database("shopbot")


@pytest.fixture
def fresh_postgres_url(postgres_cluster) -> str:
    """A SQLAlchemy URL for a new, empty PostgreSQL database of this test's own."""
    return postgres_cluster.create_database()


@pytest.fixture(scope="session")
def llama_engine(tmp_path_factory):
    """llama.cpp's server on the bundled GGUF (tests/llama.py), one for the session: the remote backend's engine."""
    from tests.llama import LlamaServer

    engine = LlamaServer(tmp_path_factory.mktemp("llama"))
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()
