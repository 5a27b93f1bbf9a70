"""Import of Instacart-format order histories: ids, synthesized dates, item positions, all or nothing."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from retrieval.ingest import IngestError, IngestReport
from retrieval.instacart import import_instacart
from retrieval.schema import Customer, Order, OrderItem, Product

HEADER = "order_id,user_id,order_number,order_dow,order_hour_of_day,days_since_prior_order,product_id,add_to_cart_order,reordered\n"
HISTORY = HEADER + (
    # user 7: three orders; the first has no days_since_prior_order, the second says "8.0" like the upstream files
    "100,7,1,0,8,,218,2,0\n"
    "100,7,1,0,8,,11,1,0\n"
    "101,7,2,1,14,8.0,11,1,1\n"
    "102,7,3,1,9,0,218,1,1\n"
    # user 9: two orders 30 days apart, both late at night
    "200,9,1,3,23,,12,1,0\n"
    "201,9,2,5,22,30,12,1,1\n"
    "201,9,2,5,22,30,11,2,0\n"
)
PRODUCTS = (
    "product_id,product_name,aisle_id,department_id\n"
    "11,Organic Unsweetened Vanilla Almond Milk,91,16\n"
    "12,Soda,77,7\n"
    '218,"6\\"" Organic Carrot Cake",8,3\n'
    "300,Never Ordered Paper Towels,54,17\n"
)
AISLES = "aisle_id,aisle\n8,bakery desserts\n54,paper goods\n77,soft drinks\n91,soy lactosefree\n"
DEPARTMENTS = "department_id,department\n3,bakery\n7,beverages\n16,dairy eggs\n17,household\n"


def write_files(folder: Path, history: str = HISTORY, products: str = PRODUCTS) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, content in {
        "orders_csv": history,
        "products_csv": products,
        "aisles_csv": AISLES,
        "departments_csv": DEPARTMENTS,
    }.items():
        paths[name] = folder / name.replace("_csv", ".csv")
        paths[name].write_text(content, encoding="utf-8")
    return paths


def placed(store, order_id: str) -> datetime:
    with store.session() as session:
        return session.get(Order, order_id).placed_at


def count(store, model) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_users_orders_and_items_get_instacart_ids(ingest_store, tmp_path):
    report = import_instacart(ingest_store, **write_files(tmp_path), progress=False)

    assert report == IngestReport(products=3, customers=2, orders=5, order_items=7)
    assert ingest_store.customer("U7").name == "Instacart user 7"
    assert [o.id for o in ingest_store.customer_orders("U9")] == ["201", "200"]
    assert {o.status for o in ingest_store.customer_orders("U7")} == {"delivered"}


def test_placed_at_counts_days_since_prior_order_from_the_anchor(ingest_store, tmp_path):
    import_instacart(ingest_store, **write_files(tmp_path), progress=False)

    assert placed(ingest_store, "100") == datetime(2017, 1, 1, 8)  # first order: anchor date, its own hour
    assert placed(ingest_store, "101") == datetime(2017, 1, 9, 14)  # + 8 days
    assert placed(ingest_store, "102") == datetime(2017, 1, 9, 9)  # + 0 days
    assert placed(ingest_store, "200") == datetime(2017, 1, 1, 23)
    assert placed(ingest_store, "201") == datetime(2017, 1, 31, 22)  # + 30 days


def test_another_anchor_moves_every_order(ingest_store, tmp_path):
    import_instacart(ingest_store, **write_files(tmp_path), anchor=datetime(2026, 3, 1), progress=False)
    assert placed(ingest_store, "101") == datetime(2026, 3, 9, 14)


def test_item_positions_follow_add_to_cart_order(ingest_store, tmp_path):
    import_instacart(ingest_store, **write_files(tmp_path), progress=False)

    first = ingest_store.customer_orders("U7")[-1]
    assert [(line.product_id, line.quantity, line.unit_price) for line in first.lines] == [
        ("11", 1, None),
        ("218", 1, None),
    ]
    with ingest_store.session() as session:
        positions = session.execute(select(OrderItem.product_id, OrderItem.position).where(OrderItem.order_id == "201"))
        assert dict(positions.all()) == {"12": 1, "11": 2}


def test_products_get_clean_names_and_department_aisle_categories(ingest_store, tmp_path):
    import_instacart(ingest_store, **write_files(tmp_path), progress=False)

    cake = ingest_store.products_by_id(["218"])["218"]
    assert cake.name == '6" Organic Carrot Cake'
    assert cake.category == "Bakery > bakery desserts"
    assert (cake.price, cake.stock, cake.brand) == (None, None, None)
    assert ingest_store.products_by_id(["11"])["11"].category == "Dairy Eggs > soy lactosefree"


def test_only_ordered_products_are_imported_unless_all_are_asked_for(ingest_store, tmp_path):
    paths = write_files(tmp_path)
    import_instacart(ingest_store, **paths, progress=False)
    assert "300" not in ingest_store.products_by_id(["300"])

    report = import_instacart(ingest_store, **paths, all_products=True, progress=False)
    assert report.products == 4
    assert ingest_store.products_by_id(["300"])["300"].category == "Household > paper goods"


def test_importing_twice_changes_nothing(ingest_store, ingest_dump, tmp_path):
    paths = write_files(tmp_path)
    import_instacart(ingest_store, **paths, progress=False)
    once = ingest_dump(ingest_store)
    import_instacart(ingest_store, **paths, progress=False)
    assert ingest_dump(ingest_store) == once


def test_bad_rows_are_all_reported_and_nothing_is_imported(ingest_store, ingest_dump, tmp_path):
    import_instacart(ingest_store, **write_files(tmp_path / "good"), progress=False)
    before = ingest_dump(ingest_store)
    bad = HISTORY + "202,9,3,5,25,2,12,1,0\n" + "203,9,4,5,10,3,999,1,0\n" + "103,7,4,6,10,,12,1,0\n"

    with pytest.raises(IngestError) as caught:
        import_instacart(ingest_store, **write_files(tmp_path / "bad", history=bad), progress=False)

    assert caught.value.problems == [
        "orders.csv:9: order_hour_of_day '25' must be <= 23",
        "orders.csv:10: product_id '999' is unknown: not in products.csv",
        "orders.csv:11: days_since_prior_order is empty, but order 103 is not user 7's first order",
    ]
    assert ingest_dump(ingest_store) == before


def test_an_order_whose_rows_disagree_or_a_gap_in_order_numbers_is_reported(ingest_store, tmp_path):
    bad = HISTORY + "201,9,2,5,21,30,218,3,0\n" + "205,9,4,5,10,3,12,1,0\n"
    with pytest.raises(IngestError) as caught:
        import_instacart(ingest_store, **write_files(tmp_path, history=bad), progress=False)
    assert caught.value.problems == [
        "orders.csv:9: order_hour_of_day differs from this order's first row on line 7",
        "orders.csv:10: user 9 has no order_number 3 before this order (number 4); orders can only be dated without gaps",
    ]


# --- the real development data (not in the repository) -------------------------------------------

REAL_DIR = Path(
    os.environ.get("SHOPBOT_INSTACART_DIR", Path(__file__).resolve().parents[3] / "shared" / "data" / "instacart")
)


def test_the_real_development_histories_import_completely(ingest_store):
    if not (REAL_DIR / "order_history_dev.csv").is_file():
        pytest.skip(
            f"Instacart data not found in {REAL_DIR}; set SHOPBOT_INSTACART_DIR to the folder holding order_history_dev.csv"
        )

    started = time.perf_counter()
    report = import_instacart(
        ingest_store,
        REAL_DIR / "order_history_dev.csv",
        REAL_DIR / "products.csv",
        REAL_DIR / "aisles.csv",
        REAL_DIR / "departments.csv",
        progress=False,
    )
    elapsed = time.perf_counter() - started

    assert (report.customers, report.order_items) == (287, 67_765)
    assert (count(ingest_store, Customer), count(ingest_store, OrderItem)) == (287, 67_765)
    assert count(ingest_store, Product) == report.products
    assert ingest_store.products_by_id(["196"])["196"].name == "Soda"
    assert elapsed < 10, f"the real import took {elapsed:.1f} s"
