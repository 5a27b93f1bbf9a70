"""The committed demo shop is exactly what its generator writes, and it has what the demo relies on."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, datetime

import pytest

from retrieval.demo import DEMO_DATA_DIR, RETRIEVAL_CASES
from retrieval.demo.generate import DEMO_TODAY, ORDER_STATUSES, TAG_VOCABULARY, generate


def read_rows(name: str) -> list[dict[str, str]]:
    with (DEMO_DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def shop() -> dict[str, list[dict[str, str]]]:
    return {name: read_rows(f"{name}.csv") for name in ("products", "customers", "orders", "order_items")}


def shop_files(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_regenerating_gives_the_committed_files_byte_for_byte(tmp_path):
    generate(tmp_path)
    committed, fresh = shop_files(DEMO_DATA_DIR), shop_files(tmp_path)
    assert sorted(fresh) == sorted(committed)
    changed = [name for name in committed if committed[name] != fresh[name]]
    assert not changed, f"run `python -m retrieval.demo.generate` and commit: {changed} differ"


def test_another_seed_gives_another_shop(tmp_path):
    generate(tmp_path, seed=8)
    assert (tmp_path / "orders.csv").read_bytes() != (DEMO_DATA_DIR / "orders.csv").read_bytes()


def test_the_shop_has_the_promised_size(shop):
    assert 500 <= len(shop["products"]) <= 700
    assert [c["customer_id"] for c in shop["customers"]] == [f"C{n:04d}" for n in range(1, 201)]
    assert 3000 <= len(shop["orders"]) <= 8000
    per_customer = Counter(o["customer_id"] for o in shop["orders"])
    assert set(per_customer) == {c["customer_id"] for c in shop["customers"]}
    assert sum(1 for n in per_customer.values() if n <= 3) >= 5


def test_every_order_status_is_there_at_least_ten_times(shop):
    statuses = Counter(o["status"] for o in shop["orders"])
    assert set(statuses) == set(ORDER_STATUSES)
    assert min(statuses.values()) >= 10, statuses


def test_c0001_has_a_long_history_ending_in_a_parcel_on_its_way_and_a_new_order(shop):
    mine = [o for o in shop["orders"] if o["customer_id"] == "C0001"]
    assert len(mine) >= 40
    newest, before = mine[-1], mine[-2]
    assert newest["status"] == "placed"
    assert before["status"] == "shipped" and before["carrier"] and before["tracking_number"]
    assert date.fromisoformat(before["estimated_delivery"]) >= DEMO_TODAY.date()


def test_orders_follow_the_ingest_rules_and_the_shop_clock(shop):
    orders = shop["orders"]
    assert [int(o["order_id"]) for o in orders] == list(range(1001, 1001 + len(orders)))
    placed = [datetime.fromisoformat(o["placed_at"]) for o in orders]
    assert placed == sorted(placed) and placed[-1] < DEMO_TODAY
    for o, when in zip(orders, placed):
        if o["status"] in ("shipped", "delivered"):
            assert o["carrier"] and o["tracking_number"], o
        if o["status"] == "delivered":
            assert datetime.fromisoformat(o["delivered_at"]) >= when, o
        if o["status"] in ("placed", "packed", "cancelled"):
            assert not o["tracking_number"] and not o["delivered_at"], o
    tracking = [o["tracking_number"] for o in orders if o["tracking_number"]]
    assert len(tracking) == len(set(tracking))
    assert {o["carrier"] for o in orders} == {"", "UPS", "FedEx", "USPS", "Green Basket Courier"}


def test_order_items_point_at_real_orders_and_products_once_each(shop):
    order_ids = {o["order_id"] for o in shop["orders"]}
    product_ids = {p["product_id"] for p in shop["products"]}
    pairs = [(i["order_id"], i["product_id"]) for i in shop["order_items"]]
    assert len(pairs) == len(set(pairs))
    assert {o for o, _ in pairs} == order_ids  # and no order is empty
    assert {p for _, p in pairs} <= product_ids
    assert all(1 <= int(i["quantity"]) <= 3 for i in shop["order_items"])


def test_products_are_well_formed_with_tags_from_the_vocabulary(shop):
    products = shop["products"]
    assert [p["product_id"] for p in products] == [f"P{n:04d}" for n in range(1, len(products) + 1)]
    assert len({(p["brand"], p["name"], p["size"]) for p in products}) == len(products)
    for p in products:
        assert p["name"] and p["category"] and p["description"], p
        assert float(p["price"]) > 0 and len(p["price"].split(".")[1]) == 2, p
        tags = p["tags"].split(";") if p["tags"] else []
        assert set(tags) <= set(TAG_VOCABULARY), p
        if "vegan" in tags and p["category"].split(" > ")[0] not in ("Personal Care", "Beverages"):
            assert "vegetarian" in tags, p
    sold_out = sum(p["stock"] == "0" for p in products) / len(products)
    assert 0.05 <= sold_out <= 0.12


def test_diet_tags_agree_with_what_the_product_is(shop):
    by_name = {}
    for p in shop["products"]:
        by_name.setdefault(p["name"], []).append(set(p["tags"].split(";")))
    assert all({"vegan", "dairy-free"} <= tags for tags in by_name["Barista Oat Milk"])
    assert all("gluten-free" not in tags for tags in by_name["Spaghetti"])
    assert all("gluten-free" in tags for tags in by_name["Gluten-Free Penne"])
    assert all("vegan" not in tags for tags in by_name["Whole Milk"])
    assert all("nut-free" not in tags for tags in by_name["Unsweetened Almond Milk"])


def test_policies_are_titled_prose_of_a_sensible_length():
    policies = sorted(p.stem for p in (DEMO_DATA_DIR / "policies").glob("*.md"))
    assert policies == sorted(
        [
            "shipping",
            "returns-and-refunds",
            "payment",
            "delivery-windows",
            "substitutions",
            "privacy",
            "account-help",
            "contact-us",
        ]
    )
    for policy in policies:
        text = (DEMO_DATA_DIR / "policies" / f"{policy}.md").read_text(encoding="utf-8")
        assert text.startswith("# ")
        assert 150 <= len(text.split()) <= 450, policy


def test_every_id_in_the_retrieval_cases_exists(shop):
    product_ids = {p["product_id"] for p in shop["products"]}
    policy_ids = {p.stem for p in (DEMO_DATA_DIR / "policies").glob("*.md")}
    cases = [json.loads(line) for line in RETRIEVAL_CASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(cases) >= 120
    assert len({c["query"] for c in cases}) == len(cases)
    kinds = Counter("policy" if c["relevant"][0] in policy_ids else "product" for c in cases)
    assert kinds["product"] >= 80 and kinds["policy"] >= 40
    for case in cases:
        assert case["query"].strip() and case["relevant"], case
        unknown = set(case["relevant"]) - product_ids - policy_ids
        assert not unknown, f"{case['query']!r}: unknown ids {sorted(unknown)}"
