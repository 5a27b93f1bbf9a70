"""Import order histories in the Instacart 2017 format (for development and evaluation).

The Instacart data is for non-commercial use: it is never copied into this repository, and every
function here takes its paths as arguments.

Mapping:
- products: id = Instacart product_id, category `Department > aisle` (department title-cased),
  no brand, price or stock. By default only the products the order file refers to are imported.
- customers: id `U<user_id>`, name `Instacart user <user_id>`.
- orders: id = order_id, status `delivered`. Instacart gives no dates, so placed_at is synthesized:
  a user's first order is placed on the anchor's date at order_hour_of_day:00, and each later order
  `days_since_prior_order` days after the date of the one before, at its own order_hour_of_day.
- order items: quantity 1, position = add_to_cart_order, no unit price.

Validation works like `retrieval.ingest`: every row is checked first, problems are reported as
`file:line: what is wrong`, and either everything is written in one transaction or nothing is.
Columns the importer does not know (e.g. `eval_set`) are ignored; the expected ones are required.
"""

from __future__ import annotations

import string
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from retrieval.ingest import (
    Column,
    CsvSpec,
    IngestReport,
    ParsedRow,
    Problems,
    check_references,
    check_unique,
    known_values,
    read_csv,
    replace_order_items,
    text,
    upsert,
    whole,
    write_all_or_nothing,
)
from retrieval.schema import Customer, Order, Product
from retrieval.store import Store

DEFAULT_ANCHOR = datetime(2017, 1, 1, 0, 0)
_positive = whole(1)


def instacart_id(cell: str) -> str:
    """A positive whole number, kept as its canonical text (`0042` -> `42`)."""
    if cell.isascii() and cell.isdigit() and cell[0] != "0":
        return cell
    return str(_positive(cell))


def day_count(cell: str) -> int:
    """Whole days, written `8` or `8.0` as in the Instacart files."""
    try:
        value = float(cell)
    except ValueError:
        raise ValueError("is not a number of days") from None
    if value < 0 or not value.is_integer():
        raise ValueError("must be a whole number of days >= 0")
    return int(value)


ORDER_HISTORY = CsvSpec(
    columns=(
        Column("order_id", instacart_id, required=True),
        Column("user_id", whole(1), required=True),
        Column("order_number", whole(1), required=True),
        Column("order_dow", whole(0, 6), required=True),
        Column("order_hour_of_day", whole(0, 23), required=True),
        Column("days_since_prior_order", day_count, required=False),
        Column("product_id", instacart_id, required=True),
        Column("add_to_cart_order", whole(1), required=True),
        Column("reordered", whole(0, 1), required=True),
    ),
    unique=("order_id", "product_id"),
    allow_unknown_columns=True,
)
PRODUCTS = CsvSpec(
    columns=(
        Column("product_id", instacart_id, required=True),
        Column("product_name", text(Product.__table__.c.name.type.length), required=True),
        Column("aisle_id", instacart_id, required=True),
        Column("department_id", instacart_id, required=True),
    ),
    unique=("product_id",),
    allow_unknown_columns=True,
)
AISLES = CsvSpec(
    columns=(Column("aisle_id", instacart_id, required=True), Column("aisle", text(100), required=True)),
    unique=("aisle_id",),
    allow_unknown_columns=True,
)
DEPARTMENTS = CsvSpec(
    columns=(
        Column("department_id", instacart_id, required=True),
        Column("department", text(90), required=True),
    ),
    unique=("department_id",),
    allow_unknown_columns=True,
)

# An order's fields that every one of its rows must repeat.
ORDER_FIELDS = ("user_id", "order_number", "order_dow", "order_hour_of_day", "days_since_prior_order")


@dataclass(frozen=True)
class OrderHead:
    order_id: str
    line: int  # the order's first row
    user_id: int
    order_number: int
    hour: int
    days_since_prior: int | None


# ---------------------------------------------------------------------------------------------
# Reading and checking


def _read(path: Path, spec: CsvSpec, problems: Problems, progress: bool | None) -> tuple[str, list[ParsedRow] | None]:
    path = Path(path)
    label = path.name
    if not path.is_file():
        problems.add(label, 1, f"file not found: {path}")
        return label, None
    rows = read_csv(path, label, spec, problems, progress=progress)
    check_unique(spec, rows or [], label, problems)
    return label, rows


def order_heads(rows: list[ParsedRow], label: str, problems: Problems) -> dict[str, OrderHead]:
    """One head per order, from its first row; a later row that disagrees is reported."""
    heads: dict[str, OrderHead] = {}
    firsts: dict[str, ParsedRow] = {}
    for row in rows:
        if not row.ok:
            continue
        first = firsts.setdefault(row.values["order_id"], row)
        if first is row:
            heads[row.values["order_id"]] = _head(row)
            continue
        differ = [f for f in ORDER_FIELDS if row.values[f] != first.values[f]]
        if differ:
            verb = "differs" if len(differ) == 1 else "differ"
            problems.add(
                label, row.line, f"{', '.join(differ)} {verb} from this order's first row on line {first.line}"
            )
    return heads


def _head(row: ParsedRow) -> OrderHead:
    v = row.values
    return OrderHead(
        v["order_id"], row.line, v["user_id"], v["order_number"], v["order_hour_of_day"], v["days_since_prior_order"]
    )


def user_histories(
    heads: dict[str, OrderHead], label: str, problems: Problems, unsure: set[int] = frozenset()
) -> dict[int, list[OrderHead]]:
    """Each user's orders by order_number, which must run on without gaps or repeats so they can be dated.

    Users in `unsure` have rows that could not be read (already reported); their sequence is not checked."""
    histories: dict[int, list[OrderHead]] = defaultdict(list)
    for head in heads.values():
        histories[head.user_id].append(head)
    for user_id, orders in histories.items():
        orders.sort(key=lambda h: (h.order_number, h.line))
        if user_id not in unsure:
            _check_history(orders, label, problems)
    return histories


def users_with_bad_rows(rows: list[ParsedRow]) -> set[int]:
    return {r.values.get("user_id") for r in rows if not r.ok}


def _check_history(orders: list[OrderHead], label: str, problems: Problems) -> None:
    for before, head in zip(orders, orders[1:]):
        if head.order_number == before.order_number:
            for one, other in ((before, head), (head, before)):
                problems.add(
                    label,
                    one.line,
                    f"user {one.user_id} has order_number {one.order_number} twice: "
                    f"order {one.order_id} and order {other.order_id} (line {other.line})",
                )
        elif head.order_number != before.order_number + 1:
            problems.add(
                label,
                head.line,
                f"user {head.user_id} has no order_number {before.order_number + 1} before this order "
                f"(number {head.order_number}); orders can only be dated without gaps",
            )
        if head.days_since_prior is None:
            problems.add(
                label,
                head.line,
                f"days_since_prior_order is empty, but order {head.order_id} is not user {head.user_id}'s first order",
            )


# ---------------------------------------------------------------------------------------------
# Building rows


def placed_times(orders: list[OrderHead], anchor: datetime) -> dict[str, datetime]:
    """placed_at for one user's orders (sorted by order_number): see the module docstring."""
    placed: dict[str, datetime] = {}
    day = anchor.date()
    for i, head in enumerate(orders):
        if i:
            day += timedelta(days=head.days_since_prior or 0)
        placed[head.order_id] = datetime.combine(day, time(head.hour))
    return placed


def product_rows(
    rows: list[ParsedRow], aisles: dict[str, str], departments: dict[str, str], wanted: set[str] | None
) -> list[dict]:
    """Product rows for the database: all of them, or those whose id is in `wanted`."""
    return [
        {
            "id": v["product_id"],
            "name": v["product_name"].replace('\\"', '"'),
            "brand": None,
            "category": f"{string.capwords(departments[v['department_id']])} > {aisles[v['aisle_id']]}",
            "size": None,
            "price": None,
            "stock": None,
            "tags": "",
            "description": "",
        }
        for v in (r.values for r in rows)
        if wanted is None or v["product_id"] in wanted
    ]


def customer_rows(user_ids: list[int]) -> list[dict]:
    return [{"id": f"U{u}", "name": f"Instacart user {u}", "email": None} for u in sorted(user_ids)]


def order_rows(histories: dict[int, list[OrderHead]], anchor: datetime) -> list[dict]:
    rows = []
    for user_id, orders in histories.items():
        for order_id, placed_at in placed_times(orders, anchor).items():
            rows.append(
                {
                    "id": order_id,
                    "customer_id": f"U{user_id}",
                    "placed_at": placed_at,
                    "status": "delivered",
                    "carrier": None,
                    "tracking_number": None,
                    "estimated_delivery": None,
                    "delivered_at": None,
                }
            )
    return rows


def item_rows(rows: list[ParsedRow]) -> list[dict]:
    return [
        {
            "order_id": r.values["order_id"],
            "product_id": r.values["product_id"],
            "quantity": 1,
            "unit_price": None,
            "position": r.values["add_to_cart_order"],
        }
        for r in rows
    ]


# ---------------------------------------------------------------------------------------------
# The import


@dataclass
class _Checked:
    history: list[ParsedRow]
    histories: dict[int, list[OrderHead]]
    products: list[ParsedRow]
    aisles: dict[str, str]
    departments: dict[str, str]


def _read_and_check(
    orders_csv: Path, products_csv: Path, aisles_csv: Path, departments_csv: Path, progress: bool | None
) -> _Checked:
    problems = Problems()
    dep_label, departments = _read(departments_csv, DEPARTMENTS, problems, progress)
    aisle_label, aisles = _read(aisles_csv, AISLES, problems, progress)
    prod_label, products = _read(products_csv, PRODUCTS, problems, progress)
    hist_label, history = _read(orders_csv, ORDER_HISTORY, problems, progress)
    products_ok = products or []
    check_references(products_ok, "aisle_id", known_values(aisles, "aisle_id"), prod_label, aisle_label, problems)
    check_references(
        products_ok, "department_id", known_values(departments, "department_id"), prod_label, dep_label, problems
    )
    check_references(
        history or [], "product_id", known_values(products, "product_id"), hist_label, prod_label, problems
    )
    heads = order_heads(history or [], hist_label, problems)
    histories = user_histories(heads, hist_label, problems, users_with_bad_rows(history or []))
    problems.raise_if_any()
    return _Checked(
        history=history or [],
        histories=histories,
        products=products_ok,
        aisles={r.values["aisle_id"]: r.values["aisle"] for r in aisles or []},
        departments={r.values["department_id"]: r.values["department"] for r in departments or []},
    )


def import_instacart(
    store: Store,
    orders_csv: Path,
    products_csv: Path,
    aisles_csv: Path,
    departments_csv: Path,
    anchor: datetime = DEFAULT_ANCHOR,
    *,
    all_products: bool = False,
    progress: bool | None = None,
) -> IngestReport:
    """Validate the four Instacart files, then write customers, products, orders and items in one transaction.

    orders_csv: order-product rows with columns order_id, user_id, order_number, order_dow,
        order_hour_of_day, days_since_prior_order, product_id, add_to_cart_order, reordered.
    products_csv / aisles_csv / departments_csv: the Instacart catalog files.
    anchor: the date of every user's first order (see the module docstring).
    all_products: import the whole catalog instead of only the products the orders refer to.
    progress: show tqdm bars while reading (None: only on a terminal).
    Raises IngestError (from retrieval.ingest) listing every problem; the database is then unchanged.
    """
    checked = _read_and_check(orders_csv, products_csv, aisles_csv, departments_csv, progress)
    wanted = None if all_products else {r.values["product_id"] for r in checked.history}
    products = product_rows(checked.products, checked.aisles, checked.departments, wanted)
    customers = customer_rows(list(checked.histories))
    orders = order_rows(checked.histories, anchor)
    items = item_rows(checked.history)

    def write(session: Session) -> None:
        upsert(session, Customer, customers)
        upsert(session, Product, products)
        upsert(session, Order, orders)
        replace_order_items(session, items)

    write_all_or_nothing(store, write)
    return IngestReport(products=len(products), customers=len(customers), orders=len(orders), order_items=len(items))
