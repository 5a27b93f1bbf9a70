"""Access to the shop database: catalog and policy reads, and the one authorized order query.

A shopper's orders are only ever read through `customer_orders`, keyed by the customer id of
the authenticated session; nothing in shopbot searches orders across customers.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, event, func, inspect, select, text
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.schema import CreateColumn

from retrieval.schema import Base, Customer, Order, OrderItem, Policy, Product


@contextmanager
def scratch_copy(url: str) -> Iterator[str]:
    """A throwaway SQLite copy of the database, for runs (evaluations) whose conversations must not land in
    the shop's real log. Other databases are yielded as they are: give those runs a database of their own."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:"):
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="shopbot-scratch-") as folder:
        copy = Path(folder) / "scratch.db"
        source, target = sqlite3.connect(url.removeprefix("sqlite:///")), sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        yield f"sqlite:///{copy}"


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite files get their folder created and foreign keys enforced."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@dataclass(frozen=True)
class OrderLine:
    product_id: str
    name: str
    quantity: int
    unit_price: float | None


@dataclass(frozen=True)
class OrderView:
    """An order as a shopper may see it: plain data, detached from the database session."""

    id: str
    placed_at: str
    status: str
    carrier: str | None
    tracking_number: str | None
    estimated_delivery: str | None
    delivered_at: str | None
    lines: tuple[OrderLine, ...]

    @property
    def total(self) -> float:
        return round(sum((line.unit_price or 0.0) * line.quantity for line in self.lines), 2)


class Store:
    """The shop database. One per process; sessions are short-lived and per call."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        Base.metadata.create_all(self.engine)
        self._add_missing_columns()
        self._add_missing_indexes()

    def _add_missing_columns(self) -> None:
        """Databases made by an older shopbot get new columns (all have server defaults) without a reload."""
        existing = inspect(self.engine)
        with self.engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                have = {c["name"] for c in existing.get_columns(table.name)}
                for column in table.columns:
                    if column.name not in have:
                        ddl = CreateColumn(column).compile(dialect=self.engine.dialect)
                        conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))

    def _add_missing_indexes(self) -> None:
        """Databases made by an older shopbot get the indexes declared since. Before a unique index is made, rows
        that would break it are dropped, keeping the newest (largest id) of each key: a unique index here says
        "one row per key, the latest wins" (feedback: one rating per answer)."""
        existing = inspect(self.engine)
        with self.engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                have = {i["name"] for i in existing.get_indexes(table.name)}
                for index in table.indexes:
                    if index.name in have:
                        continue
                    if index.unique:
                        (key,) = table.primary_key.columns
                        newest = select(func.max(key)).group_by(*index.columns)
                        conn.execute(delete(table).where(key.not_in(newest)))
                    index.create(conn)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits as one unit, or not at all."""
        with self._sessions.begin() as session:
            yield session

    def products(self) -> list[Product]:
        with self.session() as s:
            return list(s.scalars(select(Product).order_by(Product.id)))

    def products_by_id(self, ids: Sequence[str]) -> dict[str, Product]:
        with self.session() as s:
            return {p.id: p for p in s.scalars(select(Product).where(Product.id.in_(list(ids))))}

    def product_tags(self) -> set[str]:
        """Every tag any product carries: the attributes a shopper can ask about by name."""
        with self.session() as s:
            return {t for tags in s.scalars(select(Product.tags).distinct()) for t in tags.split(";") if t}

    def policies(self) -> list[Policy]:
        with self.session() as s:
            return list(s.scalars(select(Policy).order_by(Policy.id)))

    def customer(self, customer_id: str) -> Customer | None:
        with self.session() as s:
            return s.get(Customer, customer_id)

    def customer_orders(
        self, customer_id: str, limit: int | None = None, ids: Sequence[str] | None = None
    ) -> list[OrderView]:
        """The customer's own orders, newest first, optionally only those of `ids` (never another customer's).
        The only order query shopbot has."""
        query = (
            select(Order)
            .where(Order.customer_id == customer_id)
            .options(selectinload(Order.items).selectinload(OrderItem.product))
            .order_by(Order.placed_at.desc(), Order.id.desc())
        )
        if ids is not None:
            query = query.where(Order.id.in_(list(ids)))
        if limit is not None:
            query = query.limit(limit)
        with self.session() as s:
            return [_order_view(o) for o in s.scalars(query)]

    def purchase_rows(self, customer_id: str) -> list[tuple[str, object, str]]:
        """(order_id, placed_at, product_id) of the customer's orders that were not cancelled or refunded."""
        query = (
            select(Order.id, Order.placed_at, OrderItem.product_id)
            .join(OrderItem, OrderItem.order_id == Order.id)
            .where(Order.customer_id == customer_id, Order.status.not_in(["cancelled", "refunded"]))
            .order_by(Order.placed_at, Order.id, OrderItem.position)
        )
        with self.session() as s:
            return [tuple(r) for r in s.execute(query)]

    def catalog_fingerprint(self) -> str:
        """Changes whenever any product's or policy's searchable text changes."""
        digest = hashlib.sha256()
        for p in self.products():
            digest.update(
                "\x1f".join([p.id, p.name, p.brand or "", p.category, p.size or "", p.tags, p.description]).encode()
            )
        for pol in self.policies():
            digest.update("\x1e".join([pol.id, pol.title, pol.body]).encode())
        return digest.hexdigest()


def _order_view(order: Order) -> OrderView:
    return OrderView(
        id=order.id,
        placed_at=order.placed_at.isoformat(sep=" ", timespec="minutes"),
        status=order.status,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        estimated_delivery=order.estimated_delivery.isoformat() if order.estimated_delivery else None,
        delivered_at=order.delivered_at.isoformat(sep=" ", timespec="minutes") if order.delivered_at else None,
        lines=tuple(
            OrderLine(
                product_id=i.product_id,
                name=i.product.name,
                quantity=i.quantity,
                unit_price=float(i.unit_price) if i.unit_price is not None else None,
            )
            for i in order.items
        ),
    )
