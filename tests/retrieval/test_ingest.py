"""Ingest of a shop folder (docs/ingest-format.md): validated row by row, then written all or nothing; the writes
are checked on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from retrieval.ingest import IngestError, IngestReport, ingest_shop
from tests.pg import on_both_stores

STATUSES = "placed, packed, shipped, delivered, cancelled, refunded"

PRODUCTS = """\
product_id,name,brand,category,size,price,stock,tags,description
P1,Barista Oat Milk,Oatbury,Plant-Based > Plant Milk,1 L,3.49,23,vegan;dairy-free,Creamy oat drink that foams.
P2,Whole Milk,Meadowvale,Dairy & Eggs > Milk,2 L,2.99,0,vegetarian,
P3,Spaghetti No. 5,,Pantry > Pasta,500 g,1.89,40,,
"""
CUSTOMERS = """\
customer_id,name,email
C1,Ada Shopper,ada@example.com
C2,Bob Other,
"""
ORDERS = """\
order_id,customer_id,placed_at,status,carrier,tracking_number,estimated_delivery,delivered_at
1042,C1,2026-11-18T09:30:00,shipped,UPS,1Z999AA10123456784,2026-11-21,
1043,C2,2026-11-19T10:00:00,delivered,FedEx,771234567890,,2026-11-20T15:00:00
1044,C1,2026-11-20T08:00:00,placed,,,,
"""
ORDER_ITEMS = """\
order_id,product_id,quantity,unit_price
1042,P1,2,3.49
1042,P3,1,1.89
1043,P2,1,2.99
"""
VALID_SHOP = {
    "products.csv": PRODUCTS,
    "customers.csv": CUSTOMERS,
    "orders.csv": ORDERS,
    "order_items.csv": ORDER_ITEMS,
    "policies/returns.md": "# Returns and refunds\n\nUnopened items can be returned within 30 days.\n",
    "policies/shipping.md": "# Shipping\nFree on orders over $50.\n",
}


def write_shop(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Write a shop folder: file name (relative, may be under policies/) -> text or raw bytes."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def shop(tmp_path: Path, name: str = "shop", **changes: str | bytes | None) -> Path:
    """The valid shop with some files replaced (`orders_csv="..."`) or left out (`orders_csv=None`)."""
    files = dict(VALID_SHOP)
    for key, content in changes.items():
        file = key.replace("_csv", ".csv").replace("policy_", "policies/").replace("_md", ".md")
        if content is None:
            files.pop(file)
        else:
            files[file] = content
    return write_shop(tmp_path / name, files)


def problems_of(store, folder: Path) -> list[str]:
    with pytest.raises(IngestError) as caught:
        ingest_shop(store, folder)
    return caught.value.problems


def with_row(csv_text: str, row: str) -> str:
    return csv_text + row + "\n"


# --- a valid shop ---------------------------------------------------------------------------------


@on_both_stores
def test_a_valid_shop_is_ingested_and_queryable(ingest_store, tmp_path):
    report = ingest_shop(ingest_store, shop(tmp_path))

    assert report == IngestReport(products=3, customers=2, orders=3, order_items=3, policies=2)
    orders = ingest_store.customer_orders("C1")
    assert [o.id for o in orders] == ["1044", "1042"]
    shipped = orders[1]
    assert (shipped.status, shipped.carrier, shipped.tracking_number) == ("shipped", "UPS", "1Z999AA10123456784")
    assert shipped.estimated_delivery == "2026-11-21"
    assert [(line.product_id, line.quantity, line.unit_price) for line in shipped.lines] == [
        ("P1", 2, 3.49),
        ("P3", 1, 1.89),
    ]
    assert ingest_store.customer_orders("C2")[0].delivered_at == "2026-11-20 15:00"


@on_both_stores
def test_product_and_policy_fields_are_stored_as_given(ingest_store, tmp_path):
    ingest_shop(ingest_store, shop(tmp_path))

    oat = ingest_store.products_by_id(["P1"])["P1"]
    assert (oat.price, oat.stock, oat.tag_list, oat.brand) == (Decimal("3.49"), 23, ["vegan", "dairy-free"], "Oatbury")
    pasta = ingest_store.products_by_id(["P3"])["P3"]
    assert (pasta.brand, pasta.tags, pasta.description) == (None, "", "")
    policies = {p.id: (p.title, p.body) for p in ingest_store.policies()}
    assert policies == {
        "returns": ("Returns and refunds", "Unopened items can be returned within 30 days."),
        "shipping": ("Shipping", "Free on orders over $50."),
    }


def test_every_file_is_optional_and_a_bom_is_accepted(ingest_store, tmp_path):
    folder = write_shop(tmp_path / "only-customers", {"customers.csv": "\ufeff" + CUSTOMERS})
    assert ingest_shop(ingest_store, folder) == IngestReport(customers=2)
    assert ingest_store.customer("C1").name == "Ada Shopper"


def test_a_folder_without_any_shop_file_is_an_error(ingest_store, tmp_path):
    (tmp_path / "empty").mkdir()
    [problem] = problems_of(ingest_store, tmp_path / "empty")
    assert "not a shop folder" in problem


# --- all or nothing -------------------------------------------------------------------------------


@on_both_stores
def test_one_bad_row_among_good_rows_is_reported_and_nothing_changes(ingest_store, ingest_dump, tmp_path):
    ingest_shop(ingest_store, shop(tmp_path, "first"))
    before = ingest_dump(ingest_store)
    changed = shop(
        tmp_path,
        "second",
        products_csv=PRODUCTS.replace("3.49", "3.99"),  # a good change that must not be kept
        orders_csv=with_row(ORDERS, "1045,C2,2026-11-21T08:00:00,shiped,,,,"),
    )

    problems = problems_of(ingest_store, changed)

    assert problems == [f"orders.csv:5: status 'shiped' is not one of {STATUSES}"]
    assert ingest_dump(ingest_store) == before


def test_every_problem_in_every_file_is_listed_in_file_and_line_order(ingest_store, tmp_path):
    folder = shop(
        tmp_path,
        products_csv=with_row(PRODUCTS, "P4,Rye Bread,,Bakery,,-2,five,,"),
        customers_csv=with_row(CUSTOMERS, "C3,,carol@example"),
        order_items_csv=with_row(ORDER_ITEMS, "1043,P1,0,3.49"),
    )

    assert problems_of(ingest_store, folder) == [
        "customers.csv:4: name is required but empty",
        "customers.csv:4: email 'carol@example' is not an e-mail address",
        "order_items.csv:5: quantity '0' must be >= 1",
        "products.csv:5: price '-2' must be >= 0",
        "products.csv:5: stock 'five' is not a whole number",
    ]


def block_product(store, product_id: str) -> None:
    """A trigger that refuses order lines of one product, failing the write with 'P2 is blocked'."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(
                    f"CREATE TRIGGER no_p2 BEFORE INSERT ON order_items WHEN NEW.product_id = '{product_id}' "
                    f"BEGIN SELECT RAISE(ABORT, '{product_id} is blocked'); END"
                )
            )
            return
        conn.execute(
            text(
                "CREATE FUNCTION no_p2() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.product_id = '{product_id}' THEN RAISE EXCEPTION '{product_id} is blocked'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        conn.execute(text("CREATE TRIGGER no_p2 BEFORE INSERT ON order_items FOR EACH ROW EXECUTE FUNCTION no_p2()"))


@on_both_stores
def test_a_failing_write_keeps_nothing(ingest_store, ingest_dump, tmp_path):
    ingest_shop(ingest_store, shop(tmp_path, "first"))
    block_product(ingest_store, "P2")  # a database rule the validation cannot know about
    before = ingest_dump(ingest_store)
    changed = shop(
        tmp_path,
        "second",
        products_csv=PRODUCTS.replace("3.49", "3.99"),
        customers_csv=with_row(CUSTOMERS, "C3,Carol,"),
    )

    [problem] = problems_of(ingest_store, changed)

    assert problem.startswith("database: writing failed, nothing was saved") and "P2 is blocked" in problem
    assert ingest_dump(ingest_store) == before


# --- upserts --------------------------------------------------------------------------------------


@on_both_stores
def test_ingesting_the_same_folder_twice_changes_nothing(ingest_store, ingest_dump, tmp_path):
    folder = shop(tmp_path)
    first = ingest_shop(ingest_store, folder)
    once = ingest_dump(ingest_store)

    assert ingest_shop(ingest_store, folder) == first
    assert ingest_dump(ingest_store) == once


@on_both_stores
def test_rows_upsert_by_id_and_an_orders_items_are_replaced(ingest_store, tmp_path):
    ingest_shop(ingest_store, shop(tmp_path, "first"))
    update = write_shop(
        tmp_path / "update",
        {
            "products.csv": PRODUCTS.replace("3.49", "3.99"),
            "order_items.csv": "order_id,product_id,quantity,unit_price\n1042,P2,4,2.99\n",
        },
    )

    ingest_shop(ingest_store, update)

    assert ingest_store.products_by_id(["P1"])["P1"].price == Decimal("3.99")
    [order_1042] = [o for o in ingest_store.customer_orders("C1") if o.id == "1042"]
    assert [(line.product_id, line.quantity) for line in order_1042.lines] == [("P2", 4)]
    assert [line.product_id for line in ingest_store.customer_orders("C2")[0].lines] == ["P2"]


# --- each kind of problem -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "complaint"),
    [("-1", "must be >= 0"), ("3.499", "has more than 2 decimals"), ("cheap", "is not a decimal number (e.g. 3.49)")],
)
def test_a_bad_price_is_reported(ingest_store, tmp_path, price, complaint):
    folder = shop(tmp_path, products_csv=PRODUCTS.replace("2.99", price))
    assert problems_of(ingest_store, folder) == [f"products.csv:3: price '{price}' {complaint}"]


@pytest.mark.parametrize(
    ("column", "good", "bad", "complaint"),
    [
        (
            "placed_at",
            "2026-11-19T10:00:00",
            "19/11/2026 10:00",
            "is not an ISO 8601 date-time (e.g. 2026-11-18T09:30:00)",
        ),
        (
            "placed_at",
            "2026-11-19T10:00:00",
            "2026-11-19T10:00:00+01:00",
            "has a time-zone offset; give the shop's local time without one",
        ),
        (
            "delivered_at",
            "2026-11-20T15:00:00",
            "2026-11-31T15:00:00",
            "is not an ISO 8601 date-time (e.g. 2026-11-18T09:30:00)",
        ),
        (
            "customer_id",
            "1043,C2",
            "1043,C 2",
            "is not a valid id: at most 64 characters, no spaces or control characters",
        ),
    ],
)
def test_bad_dates_and_ids_are_reported(ingest_store, tmp_path, column, good, bad, complaint):
    folder = shop(tmp_path, orders_csv=ORDERS.replace(good, bad))
    shown = bad.split(",")[-1]
    assert problems_of(ingest_store, folder) == [f"orders.csv:3: {column} '{shown}' {complaint}"]


def test_a_product_id_must_be_letters_digits_dash_or_underscore(ingest_store, tmp_path):
    folder = shop(tmp_path, products_csv=with_row(PRODUCTS, "P/5,Tea,,Drinks,,1.00,1,,"))
    assert problems_of(ingest_store, folder) == [
        "products.csv:5: product_id 'P/5' is not a valid id: use letters, digits, '_' and '-', at most 64 characters"
    ]


def test_an_unknown_status_is_reported(ingest_store, tmp_path):
    folder = shop(tmp_path, orders_csv=ORDERS.replace("placed,,,,", "Placed,,,,"))
    assert problems_of(ingest_store, folder) == [f"orders.csv:4: status 'Placed' is not one of {STATUSES}"]


def test_shipped_and_delivered_orders_need_their_tracking_and_dates(ingest_store, tmp_path):
    orders = with_row(ORDERS, "1045,C1,2026-11-21T08:00:00,shipped,UPS,,,")
    orders = with_row(orders, "1046,C1,2026-11-21T08:00:00,delivered,UPS,1Z1,,")
    orders = with_row(orders, "1047,C1,2026-11-21T08:00:00,delivered,UPS,1Z2,,2026-11-20T08:00:00")

    assert problems_of(ingest_store, shop(tmp_path, orders_csv=orders)) == [
        "orders.csv:5: tracking_number is required when status is shipped",
        "orders.csv:6: delivered_at is required when status is delivered",
        "orders.csv:7: delivered_at 2026-11-20T08:00:00 is before placed_at 2026-11-21T08:00:00",
    ]


def test_a_duplicate_id_is_reported_on_both_lines(ingest_store, tmp_path):
    folder = shop(tmp_path, customers_csv=with_row(CUSTOMERS, "C1,Ada Again,"))
    assert problems_of(ingest_store, folder) == [
        "customers.csv:2: duplicate customer_id 'C1' (also on line 4)",
        "customers.csv:4: duplicate customer_id 'C1' (also on line 2)",
    ]


def test_a_product_listed_twice_in_one_order_is_reported_on_both_lines(ingest_store, tmp_path):
    folder = shop(tmp_path, order_items_csv=with_row(ORDER_ITEMS, "1042,P1,1,3.49"))
    assert problems_of(ingest_store, folder) == [
        "order_items.csv:2: duplicate order_id '1042' and product_id 'P1' (also on line 5)",
        "order_items.csv:5: duplicate order_id '1042' and product_id 'P1' (also on line 2)",
    ]


def test_an_unknown_product_is_reported(ingest_store, tmp_path):
    folder = shop(tmp_path, order_items_csv=with_row(ORDER_ITEMS, "1043,P9,1,1.00"))
    assert problems_of(ingest_store, folder) == [
        "order_items.csv:5: product_id 'P9' is unknown: not in products.csv and not in the database"
    ]


def test_unknown_customers_and_orders_are_reported(ingest_store, tmp_path):
    folder = shop(
        tmp_path,
        orders_csv=with_row(ORDERS, "1045,C7,2026-11-21T08:00:00,placed,,,,"),
        order_items_csv=with_row(ORDER_ITEMS, "9999,P1,1,3.49"),
    )
    assert problems_of(ingest_store, folder) == [
        "order_items.csv:5: order_id '9999' is unknown: not in orders.csv and not in the database",
        "orders.csv:5: customer_id 'C7' is unknown: not in customers.csv and not in the database",
    ]


@on_both_stores
def test_references_may_be_satisfied_by_rows_already_in_the_database(ingest_store, tmp_path):
    ingest_shop(ingest_store, shop(tmp_path, "first"))
    later = write_shop(
        tmp_path / "later",
        {
            "orders.csv": "order_id,customer_id,placed_at,status\n2001,C2,2026-12-01T12:00:00,placed\n",
            "order_items.csv": "order_id,product_id,quantity,unit_price\n2001,P3,2,1.89\n1044,P2,1,2.99\n",
        },
    )

    assert ingest_shop(ingest_store, later) == IngestReport(orders=1, order_items=2)
    assert [line.product_id for line in ingest_store.customer_orders("C2")[0].lines] == ["P3"]
    assert [line.product_id for line in ingest_store.customer_orders("C1")[0].lines] == ["P2"]


def test_a_bad_header_is_reported_at_line_1(ingest_store, tmp_path):
    folder = shop(tmp_path, products_csv=PRODUCTS.replace(",price,", ",prise,"))
    assert problems_of(ingest_store, folder) == [
        "products.csv:1: unknown column 'prise' (columns are: product_id, name, brand, category, size, price, stock, tags, description)",
        "products.csv:1: missing required column 'price'",
    ]


def test_a_row_with_the_wrong_number_of_fields_is_reported(ingest_store, tmp_path):
    folder = shop(tmp_path, customers_csv=with_row(CUSTOMERS, "C3,Carol,carol@example.com,extra"))
    assert problems_of(ingest_store, folder) == ["customers.csv:4: expected 3 fields, found 4"]


def test_a_quote_left_open_is_reported_at_the_row_where_it_opens(ingest_store, tmp_path):
    folder = shop(tmp_path, customers_csv='customer_id,name,email\nC1,"Ada Shopper,\nC2,Bob Other,\n')
    assert problems_of(ingest_store, folder) == ["customers.csv:2: expected 3 fields, found 2 (is a quote left open?)"]


def test_bytes_that_are_not_utf8_are_reported_at_their_line(ingest_store, tmp_path):
    latin1 = "customer_id,name,email\nC1,Ada Shopper,\nC2,Zoë Other,\n".encode("latin-1")
    [problem] = problems_of(ingest_store, shop(tmp_path, customers_csv=latin1))
    assert problem == "customers.csv:3: not valid UTF-8 (byte 0xeb); save the file as UTF-8"


def test_line_numbers_count_physical_lines_of_quoted_multi_line_cells(ingest_store, tmp_path):
    products = (
        "product_id,name,brand,category,size,price,stock,tags,description\n"
        'P1,Barista Oat Milk,Oatbury,Plant-Based > Plant Milk,1 L,3.49,23,vegan,"Creamy oat drink.\n'
        "Foams well.\n"
        'Great in lattes."\n'
        "P2,Whole Milk,,Dairy & Eggs > Milk,2 L,2.99,lots,,\n"
        "P3,Spaghetti No. 5,,Pantry > Pasta,500 g,1.89,40,,\n"
    )
    folder = shop(tmp_path, products_csv=products)
    assert problems_of(ingest_store, folder) == ["products.csv:5: stock 'lots' is not a whole number"]

    ingest_shop(ingest_store, shop(tmp_path, "fixed", products_csv=products.replace("lots", "7")))
    description = ingest_store.products_by_id(["P1"])["P1"].description
    assert description == "Creamy oat drink.\nFoams well.\nGreat in lattes."


def test_an_empty_policy_and_a_bad_policy_name_are_reported(ingest_store, tmp_path):
    folder = shop(tmp_path, policy_faq_md="# FAQ\n\n", **{"policy_Gift Cards_md": "# Gift cards\nThey never expire.\n"})
    assert problems_of(ingest_store, folder) == [
        "policies/Gift Cards.md:1: bad policy file name 'Gift Cards.md': "
        "use lowercase letters, digits and '-' (e.g. returns.md)",
        "policies/faq.md:2: policy body is empty; write the policy below the title",
    ]


def test_a_policy_needs_a_title_line(ingest_store, tmp_path):
    folder = shop(tmp_path, policy_returns_md="Returns are free.\n")
    assert problems_of(ingest_store, folder) == [
        "policies/returns.md:1: the first line must be the title, as '# Title'"
    ]


# --- scale ----------------------------------------------------------------------------------------


@on_both_stores
def test_ten_thousand_rows_ingest_in_under_two_seconds(ingest_store, tmp_path):
    n = 2500
    products = (
        PRODUCTS.splitlines()[0]
        + "\n"
        + "".join(
            f"P{i},Product {i},Brand,Pantry > Misc,1 kg,{i % 50}.99,{i % 7},vegan;organic,A product.\n"
            for i in range(n)
        )
    )
    customers = "customer_id,name,email\n" + "".join(f"C{i},Customer {i},c{i}@example.com\n" for i in range(n // 10))
    orders = (
        ORDERS.splitlines()[0]
        + "\n"
        + "".join(
            f"{i},C{i % (n // 10)},2026-11-18T09:30:00,delivered,UPS,1Z{i},2026-11-20,2026-11-19T10:00:00\n"
            for i in range(n)
        )
    )
    items = "order_id,product_id,quantity,unit_price\n" + "".join(
        f"{i},P{(i + k) % n},{k + 1},1.50\n" for i in range(n) for k in range(2)
    )
    folder = write_shop(
        tmp_path / "big",
        {
            "products.csv": products,
            "customers.csv": customers,
            "orders.csv": orders,
            "order_items.csv": items,
        },
    )

    started = time.perf_counter()
    report = ingest_shop(ingest_store, folder)
    elapsed = time.perf_counter() - started

    assert report == IngestReport(products=n, customers=n // 10, orders=n, order_items=2 * n)
    assert elapsed < 2.0, f"ingest of {n * 4 + n // 10} rows took {elapsed:.2f} s"
