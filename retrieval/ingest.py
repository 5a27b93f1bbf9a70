"""Load a shop folder (docs/ingest-format.md) into the database: everything validated, then all or nothing.

Every row of every file is checked before anything is written. Each problem is reported as
`file:line: what is wrong`, with `file` relative to the shop folder and `line` the physical line in
the file (the header is line 1; a row with a quoted multi-line cell is reported at its first line).
If there is any problem, `IngestError` lists them all and the database is left as it was; otherwise
the whole folder is written in one transaction. Rows upsert by primary key, so re-ingesting a folder
is idempotent, and the items of an order listed in order_items.csv replace that order's items.

The reading, checking and writing helpers here are shared with `retrieval.instacart`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from tqdm import tqdm

from retrieval.schema import Customer, Order, OrderItem, OrderStatus, Policy, Product
from retrieval.store import Store

# ---------------------------------------------------------------------------------------------
# Results and errors


class IngestError(Exception):
    """The data was not loaded; `problems` holds every `file:line: what is wrong`."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class IngestReport:
    """How many rows of each table were written (inserted or updated)."""

    products: int = 0
    customers: int = 0
    orders: int = 0
    order_items: int = 0
    policies: int = 0

    def __str__(self) -> str:
        counts = [(f.name.replace("_", " "), getattr(self, f.name)) for f in fields(self)]
        return ", ".join(f"{n} {name}" for name, n in counts if n) or "nothing"


class Problems:
    """Collects `file:line: message` problems; they come out sorted by file, then line."""

    def __init__(self) -> None:
        self._items: list[tuple[str, int, str]] = []

    def add(self, label: str, line: int, message: str) -> None:
        self._items.append((label, line, message))

    def __bool__(self) -> bool:
        return bool(self._items)

    def lines(self) -> list[str]:
        ordered = sorted(self._items, key=lambda item: (item[0], item[1]))
        return [f"{label}:{line}: {message}" for label, line, message in ordered]

    def raise_if_any(self) -> None:
        if self._items:
            raise IngestError(self.lines())


# ---------------------------------------------------------------------------------------------
# Cell parsers: each takes a stripped, non-empty cell and returns the value, or raises ValueError
# with the rest of the sentence "<column> '<cell>' ..." (e.g. "has more than 2 decimals").

Parser = Callable[[str], Any]

_PRODUCT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PLAIN_ID = re.compile(r"[^\s\x00-\x1f\x7f]{1,64}")
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CENT = Decimal("0.01")
_MAX_MONEY = Decimal("99999999.99")  # Numeric(10, 2)
_MAX_INT = 2**31 - 1


def product_id(cell: str) -> str:
    if not _PRODUCT_ID.fullmatch(cell):
        raise ValueError("is not a valid id: use letters, digits, '_' and '-', at most 64 characters")
    return cell


def plain_id(cell: str) -> str:
    if not _PLAIN_ID.fullmatch(cell):
        raise ValueError("is not a valid id: at most 64 characters, no spaces or control characters")
    return cell


def text(max_length: int | None) -> Parser:
    def parse(cell: str) -> str:
        if max_length is not None and len(cell) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        return cell

    return parse


def whole(minimum: int, maximum: int = _MAX_INT) -> Parser:
    def parse(cell: str) -> int:
        if not (cell.isascii() and cell.isdigit()) and not _INTEGER.fullmatch(cell):
            raise ValueError("is not a whole number")
        value = int(cell)
        if value < minimum:
            raise ValueError(f"must be >= {minimum}")
        if value > maximum:
            raise ValueError(f"must be <= {maximum}")
        return value

    return parse


def money(cell: str) -> Decimal:
    if not _DECIMAL.fullmatch(cell):
        raise ValueError("is not a decimal number (e.g. 3.49)")
    value = Decimal(cell)
    if value < 0:
        raise ValueError("must be >= 0")
    if value != value.quantize(_CENT):
        raise ValueError("has more than 2 decimals")
    if value > _MAX_MONEY:
        raise ValueError(f"must be <= {_MAX_MONEY}")
    return value.quantize(_CENT)


def iso_datetime(cell: str) -> datetime:
    try:
        value = datetime.fromisoformat(cell) if len(cell) > 10 else None
    except ValueError:
        value = None
    if value is None:
        raise ValueError("is not an ISO 8601 date-time (e.g. 2026-11-18T09:30:00)")
    if value.tzinfo is not None:
        raise ValueError("has a time-zone offset; give the shop's local time without one")
    return value


def iso_date(cell: str) -> date:
    try:
        if _ISO_DATE.fullmatch(cell):
            return date.fromisoformat(cell)
    except ValueError:
        pass
    raise ValueError("is not an ISO date YYYY-MM-DD")


def one_of(choices: Sequence[str]) -> Parser:
    def parse(cell: str) -> str:
        if cell not in choices:
            raise ValueError(f"is not one of {', '.join(choices)}")
        return cell

    return parse


def email(cell: str) -> str:
    if not _EMAIL.fullmatch(cell) or len(cell) > _length(Customer, "email"):
        raise ValueError("is not an e-mail address")
    return cell


def tags(cell: str) -> str:
    parts = [t.strip() for t in cell.split(";") if t.strip()]
    if any(t != t.lower() for t in parts):
        raise ValueError("must be lowercase")
    joined = ";".join(parts)
    if len(joined) > _length(Product, "tags"):
        raise ValueError(f"is longer than {_length(Product, 'tags')} characters")
    return joined


def _length(model: type, attr: str) -> int | None:
    """The declared length of a String column, so the checks follow retrieval/schema.py."""
    return getattr(model.__table__.c[attr].type, "length", None)


def _show(cell: str, width: int = 40) -> str:
    return repr(cell if len(cell) <= width else cell[: width - 1] + "…")


# ---------------------------------------------------------------------------------------------
# Table specs


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser
    required: bool = False
    attr: str = ""  # the database attribute; the column name when empty
    default: Any = None  # the value of an empty cell or an absent optional column

    @property
    def key(self) -> str:
        return self.attr or self.name


@dataclass(frozen=True)
class CsvSpec:
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()  # column names whose values must not repeat within the file
    check: Callable[[dict[str, Any]], list[str]] | None = None  # rules across a row's fields
    allow_unknown_columns: bool = False

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @cached_property
    def plan(self) -> tuple[tuple[str, str, Parser, bool, Any], ...]:
        """(name, key, parse, required, default) per column, for the per-row loop."""
        return tuple((c.name, c.key, c.parse, c.required, c.default) for c in self.columns)


@dataclass
class ParsedRow:
    line: int
    values: dict[str, Any]  # attribute -> parsed value; columns whose cell was wrong are absent
    ok: bool


def _order_rules(v: dict[str, Any]) -> list[str]:
    problems = []
    status = v.get("status")
    needed = {"shipped": ("carrier", "tracking_number"), "delivered": ("carrier", "tracking_number", "delivered_at")}
    for col in needed.get(status, ()):
        if col in v and v[col] is None:
            problems.append(f"{col} is required when status is {status}")
    placed, delivered = v.get("placed_at"), v.get("delivered_at")
    if placed and delivered and delivered < placed:
        problems.append(f"delivered_at {delivered.isoformat()} is before placed_at {placed.isoformat()}")
    return problems


PRODUCTS = CsvSpec(
    columns=(
        Column("product_id", product_id, required=True, attr="id"),
        Column("name", text(_length(Product, "name")), required=True),
        Column("brand", text(_length(Product, "brand"))),
        Column("category", text(_length(Product, "category")), required=True),
        Column("size", text(_length(Product, "size"))),
        Column("price", money, required=True),
        Column("stock", whole(0), required=True),
        Column("tags", tags, default=""),
        Column("description", text(None), default=""),
    ),
    unique=("product_id",),
)
CUSTOMERS = CsvSpec(
    columns=(
        Column("customer_id", plain_id, required=True, attr="id"),
        Column("name", text(_length(Customer, "name")), required=True),
        Column("email", email),
    ),
    unique=("customer_id",),
)
ORDERS = CsvSpec(
    columns=(
        Column("order_id", plain_id, required=True, attr="id"),
        Column("customer_id", plain_id, required=True),
        Column("placed_at", iso_datetime, required=True),
        Column("status", one_of([s.value for s in OrderStatus]), required=True),
        Column("carrier", text(_length(Order, "carrier"))),
        Column("tracking_number", text(_length(Order, "tracking_number"))),
        Column("estimated_delivery", iso_date),
        Column("delivered_at", iso_datetime),
    ),
    unique=("order_id",),
    check=_order_rules,
)
ORDER_ITEMS = CsvSpec(
    columns=(
        Column("order_id", plain_id, required=True),
        Column("product_id", product_id, required=True),
        Column("quantity", whole(1), required=True),
        Column("unit_price", money, required=True),
    ),
    unique=("order_id", "product_id"),
)


# ---------------------------------------------------------------------------------------------
# Reading files


def read_text(path: Path, label: str, problems: Problems) -> str | None:
    """The file as text (UTF-8, optional BOM), or None after reporting the line of the first bad byte."""
    data = path.read_bytes()
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = start + exc.start
        line = data.count(b"\n", 0, bad) + 1
        problems.add(label, line, f"not valid UTF-8 (byte 0x{data[bad]:02x}); save the file as UTF-8")
        return None


def read_csv(
    path: Path, label: str, spec: CsvSpec, problems: Problems, *, progress: bool | None = False
) -> list[ParsedRow] | None:
    """Every row of the file, parsed; None when the file as a whole can't be read (bad bytes, header)."""
    content = read_text(path, label, problems)
    if content is None:
        return None
    reader = csv.reader(io.StringIO(content, newline=""))
    header = _read_header(reader, label, spec, problems)
    if header is None:
        return None
    rows = tqdm(
        _records(reader, header, label, problems),
        total=content.count("\n") - content.endswith("\n") or None,  # rows after the header, roughly
        desc=label,
        unit=" rows",
        disable=None if progress is None else not progress,
    )
    try:
        return [
            parse_row(spec, line, cells, label, problems) if cells is not None else ParsedRow(line, {}, False)
            for line, cells in rows
        ]
    except csv.Error as exc:
        problems.add(label, reader.line_num, f"malformed CSV ({exc}); the rest of the file was not read")
        return None


def _read_header(reader: Iterator[list[str]], label: str, spec: CsvSpec, problems: Problems) -> list[str] | None:
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        problems.add(label, 1, "file is empty; expected a header row")
        return None
    except csv.Error as exc:
        problems.add(label, 1, f"malformed CSV header ({exc})")
        return None
    wrong = header_problems(header, spec)
    for message in wrong:
        problems.add(label, 1, message)
    return None if wrong else header


def header_problems(header: list[str], spec: CsvSpec) -> list[str]:
    known = [c.name for c in spec.columns]
    wrong = [
        f"column {n!r} appears more than once in the header" for n in sorted({n for n in header if header.count(n) > 1})
    ]
    if not spec.allow_unknown_columns:
        wrong += [f"unknown column {n!r} (columns are: {', '.join(known)})" for n in header if n not in known]
    wrong += [f"missing required column {c.name!r}" for c in spec.columns if c.required and c.name not in header]
    return wrong


def _records(
    reader: Any, header: list[str], label: str, problems: Problems
) -> Iterator[tuple[int, dict[str, str] | None]]:
    """(first physical line, cells by column) for each non-blank row; None for a row of the wrong length."""
    previous = reader.line_num
    for cells in reader:
        line, previous = previous + 1, reader.line_num
        if not cells:
            continue
        if len(cells) != len(header):
            hint = " (is a quote left open?)" if any("\n" in cell for cell in cells) else ""
            problems.add(label, line, f"expected {len(header)} fields, found {len(cells)}{hint}")
            yield line, None
            continue
        yield line, dict(zip(header, cells))


def parse_row(spec: CsvSpec, line: int, cells: dict[str, str], label: str, problems: Problems) -> ParsedRow:
    """Parse one row's cells against the spec, reporting each wrong cell and each broken rule."""
    values: dict[str, Any] = {}
    ok = True
    for name, key, parse, required, default in spec.plan:
        raw = cells.get(name)
        cell = raw.strip() if raw is not None else ""
        if not cell:
            if required:
                problems.add(label, line, f"{name} is required but empty")
                ok = False
            else:
                values[key] = default
            continue
        try:
            values[key] = parse(cell)
        except ValueError as exc:
            problems.add(label, line, f"{name} {_show(cell)} {exc}")
            ok = False
    for message in spec.check(values) if spec.check else ():
        problems.add(label, line, message)
        ok = False
    return ParsedRow(line, values, ok)


# ---------------------------------------------------------------------------------------------
# Checks across rows


def check_unique(spec: CsvSpec, rows: Iterable[ParsedRow], label: str, problems: Problems) -> None:
    """Report every line of a repeated key, each naming the other lines."""
    if not spec.unique:
        return
    attrs = [spec.column(name).key for name in spec.unique]
    lines: dict[tuple, list[int]] = defaultdict(list)
    for row in rows:
        key = tuple(row.values.get(a) for a in attrs)
        if None not in key:
            lines[key].append(row.line)
    for key, where in lines.items():
        if len(where) < 2:
            continue
        what = " and ".join(f"{name} {value!r}" for name, value in zip(spec.unique, key))
        for line in where:
            others = ", ".join(str(other) for other in where if other != line)
            problems.add(label, line, f"duplicate {what} (also on line {others})")


def known_values(rows: list[ParsedRow] | None, column: str) -> set | None:
    """The values of `column` in a file, or None when some row's value could not be read (so any is possible)."""
    if rows is None or any(column not in r.values for r in rows):
        return None
    return {r.values[column] for r in rows}


def existing_ids(session: Session, model: type, ids: Iterable[Any], chunk: int = 500) -> set:
    """Which of `ids` are primary keys of `model` in the database."""
    wanted = list(dict.fromkeys(ids))
    column = model.__mapper__.primary_key[0]
    found: set = set()
    for i in range(0, len(wanted), chunk):
        found.update(session.scalars(select(column).where(column.in_(wanted[i : i + chunk]))))
    return found


def check_references(
    rows: Iterable[ParsedRow],
    column: str,
    known: set | None,
    label: str,
    target: str,
    problems: Problems,
    *,
    session: Session | None = None,
    model: type | None = None,
) -> None:
    """Each row's `column` value must be in `known` (the target file's ids) or, given a session, the database.

    `known` None means the target file could not be read in full; its problems are reported already."""
    if known is None:
        return
    missing = [
        (r.line, r.values[column]) for r in rows if r.values.get(column) is not None and r.values[column] not in known
    ]
    in_db = existing_ids(session, model, (v for _, v in missing)) if session is not None and missing else set()
    where = f"not in {target} and not in the database" if session is not None else f"not in {target}"
    for line, value in missing:
        if value not in in_db:
            problems.add(label, line, f"{column} {value!r} is unknown: {where}")


# ---------------------------------------------------------------------------------------------
# Policies

_POLICY_ID = re.compile(r"[a-z0-9-]{1,64}")


def read_policies(folder: Path, problems: Problems) -> list[dict[str, str]]:
    """Every policies/*.md as {id, title, body}; other files there are reported, hidden ones skipped."""
    policies = []
    for path in sorted((folder / "policies").iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        label = f"policies/{path.name}"
        if path.suffix != ".md":
            problems.add(label, 1, "not a policy file: policies are Markdown files named like returns.md")
            continue
        if not _POLICY_ID.fullmatch(path.stem):
            problems.add(
                label, 1, f"bad policy file name {path.name!r}: use lowercase letters, digits and '-' (e.g. returns.md)"
            )
        content = read_text(path, label, problems)
        policy = parse_policy(path.stem, content, label, problems) if content is not None else None
        if policy is not None:
            policies.append(policy)
    return policies


def parse_policy(policy_id: str, content: str, label: str, problems: Problems) -> dict[str, str] | None:
    lines = content.replace("\r\n", "\n").split("\n")
    first = lines[0].strip()
    if not content.strip():
        problems.add(label, 1, "policy file is empty; expected '# Title' and a body")
        return None
    if not first.startswith("# ") or not first[2:].strip():
        problems.add(label, 1, "the first line must be the title, as '# Title'")
        return None
    title = first[2:].strip()
    body = "\n".join(lines[1:]).strip()
    if len(title) > _length(Policy, "title"):
        problems.add(label, 1, f"title is longer than {_length(Policy, 'title')} characters")
        return None
    if not body:
        problems.add(label, min(2, len(lines)), "policy body is empty; write the policy below the title")
        return None
    return {"id": policy_id, "title": title, "body": body}


# ---------------------------------------------------------------------------------------------
# The shop folder

CSV_FILES = {
    "products.csv": PRODUCTS,
    "customers.csv": CUSTOMERS,
    "orders.csv": ORDERS,
    "order_items.csv": ORDER_ITEMS,
}
# (file, column attribute, target file, target model)
REFERENCES = (
    ("orders.csv", "customer_id", "customers.csv", Customer),
    ("order_items.csv", "order_id", "orders.csv", Order),
    ("order_items.csv", "product_id", "products.csv", Product),
)


@dataclass
class Shop:
    """A validated shop folder, as rows ready to write."""

    products: list[dict] = field(default_factory=list)
    customers: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    order_items: list[dict] = field(default_factory=list)
    policies: list[dict] = field(default_factory=list)

    def report(self) -> IngestReport:
        return IngestReport(**{f.name: len(getattr(self, f.name)) for f in fields(self)})


def load_shop(store: Store, folder: Path) -> Shop:
    """Read and check every file of the folder; raises IngestError listing every problem."""
    folder = Path(folder)
    _require_shop_files(folder)
    problems = Problems()
    files = {
        name: read_csv(folder / name, name, spec, problems) if (folder / name).is_file() else []
        for name, spec in CSV_FILES.items()
    }
    for name, rows in files.items():
        check_unique(CSV_FILES[name], rows or [], name, problems)
    _check_shop_references(store, files, problems)
    policies = read_policies(folder, problems) if (folder / "policies").is_dir() else []
    problems.raise_if_any()
    return Shop(
        products=_values(files["products.csv"]),
        customers=_values(files["customers.csv"]),
        orders=_values(files["orders.csv"]),
        order_items=with_positions(_values(files["order_items.csv"])),
        policies=policies,
    )


def _require_shop_files(folder: Path) -> None:
    has_policies = (folder / "policies").is_dir() and any((folder / "policies").iterdir())
    if not has_policies and not any((folder / name).is_file() for name in CSV_FILES):
        raise IngestError([f"{folder}: not a shop folder: none of {', '.join(CSV_FILES)} or policies/*.md is there"])


def _check_shop_references(store: Store, files: dict[str, list[ParsedRow] | None], problems: Problems) -> None:
    with store.session() as session:
        for name, column, target, model in REFERENCES:
            known = known_values(files[target], "id")
            check_references(files[name] or [], column, known, name, target, problems, session=session, model=model)


def _values(rows: list[ParsedRow] | None) -> list[dict]:
    return [r.values for r in rows or []]


def with_positions(items: list[dict]) -> list[dict]:
    """Number each order's items 1, 2, ... in file order."""
    counters: dict[str, int] = defaultdict(int)
    for item in items:
        counters[item["order_id"]] += 1
        item["position"] = counters[item["order_id"]]
    return items


# ---------------------------------------------------------------------------------------------
# Writing


def upsert(session: Session, model: type, rows: list[dict]) -> None:
    """Insert the rows whose primary key is new and update the others, in bulk."""
    if not rows:
        return
    key = model.__mapper__.primary_key[0].key
    present = existing_ids(session, model, (r[key] for r in rows))
    new = [r for r in rows if r[key] not in present]
    old = [r for r in rows if r[key] in present]
    if new:
        session.execute(insert(model.__table__), new)
    if old:
        session.execute(update(model), old)


def replace_order_items(session: Session, items: list[dict], chunk: int = 500) -> None:
    """The given items become the whole item list of each order they belong to."""
    order_ids = list(dict.fromkeys(item["order_id"] for item in items))
    for i in range(0, len(order_ids), chunk):
        session.execute(delete(OrderItem).where(OrderItem.order_id.in_(order_ids[i : i + chunk])))
    if items:
        session.execute(insert(OrderItem.__table__), items)


def write_shop(session: Session, shop: Shop) -> None:
    upsert(session, Customer, shop.customers)
    upsert(session, Product, shop.products)
    upsert(session, Order, shop.orders)
    replace_order_items(session, shop.order_items)
    upsert(session, Policy, shop.policies)


def write_all_or_nothing(store: Store, write: Callable[[Session], None]) -> None:
    """Run `write` in one transaction; if the database refuses anything, nothing is kept."""
    try:
        with store.transaction() as session:
            write(session)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise IngestError([f"database: writing failed, nothing was saved: {reason}"]) from exc


def ingest_shop(store: Store, folder: Path) -> IngestReport:
    """Validate every file of a shop folder, then write it all in one transaction (or raise IngestError)."""
    shop = load_shop(store, folder)
    write_all_or_nothing(store, lambda session: write_shop(session, shop))
    return shop.report()
