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

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, selectinload, sessionmaker

from retrieval.schema import Customer, Order, OrderItem, Policy, Product


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


# Database drivers that are optional extras, and the extra that installs each.
DRIVER_EXTRAS = {"psycopg": ("a PostgreSQL database needs psycopg", "postgres")}


class MissingDriver(ModuleNotFoundError):
    """The database URL names a driver that is not installed; the message is the one line that installs it."""


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite files get their folder created and foreign keys enforced. A plain
    `postgresql://` URL uses psycopg (the `postgres` extra), not SQLAlchemy's default psycopg2."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(parsed)
    except ModuleNotFoundError as exc:
        if (known := DRIVER_EXTRAS.get((exc.name or "").split(".")[0])) is None:
            raise
        need, extra = known
        raise MissingDriver(f"{need}: pip install 'shopbot[{extra}]'", name=exc.name) from None
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
        """Bring the database to the current schema: Alembic's `upgrade head` (retrieval/migrations), which also
        takes in databases made before the migrations. A database already current costs one query."""
        from retrieval import migrations

        migrations.upgrade(self.engine)

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at (None: no shopbot tables yet)."""
        from retrieval import migrations

        with self.engine.connect() as connection:
            return migrations.current(connection)

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
