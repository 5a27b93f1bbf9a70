"""The suggest_reorder tool: the session's shopper's own history in, cards with names, prices and reasons out."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from bot.assistant.tools.base import ToolRegistry, ToolSession
from bot.assistant.tools.suggest_reorder import (
    PROMPT_COMPLEMENT_LINES,
    PROMPT_REORDER_LINES,
    ReorderModel,
    reorder_tool,
)
from bot.settings import SHIPPED_REORDER_MODEL
from retrieval.schema import Customer, Order, OrderItem, Product

DEMO_NOW = datetime(2026, 11, 20, 12, 0)


@pytest.fixture(scope="module")
def shipped_model():
    return ReorderModel.load(SHIPPED_REORDER_MODEL)


@pytest.fixture(scope="module")
def demo_tools(demo_store, shipped_model):
    return ToolRegistry([reorder_tool(demo_store, shipped_model, lambda: DEMO_NOW, default_limit=5)])


def suggest(tools, session_customer, **arguments):
    return tools.call(ToolSession(session_customer, "conv"), "suggest_reorder", arguments)


def test_the_customer_comes_from_the_session_never_from_the_arguments(demo_tools):
    own = suggest(demo_tools, "C0001")
    smuggled = suggest(demo_tools, "C0001", customer_id="C0002")
    other = suggest(demo_tools, "C0002")
    assert smuggled.items == own.items
    assert [i["id"] for i in own.items] != [i["id"] for i in other.items]


def test_an_anonymous_visitor_gets_no_purchase_history(demo_tools):
    result = suggest(demo_tools, None)
    assert result.items == []
    assert "not signed in" in result.text


def test_cards_carry_catalog_names_prices_and_plain_reasons(demo_tools, demo_store):
    result = suggest(demo_tools, "C0001", limit=3)
    reorder = [i for i in result.items if i["kind"] == "reorder"]
    assert 1 <= len(reorder) <= 3
    catalog = demo_store.products_by_id([i["id"] for i in result.items])
    bought = {pid for _, _, pid in demo_store.purchase_rows("C0001")}
    for item in result.items:
        product = catalog[item["id"]]
        assert item["name"] == product.name and item["price"] == float(product.price)
        assert item["reason"] and item["id"] not in item["reason"]
    for item in reorder:
        assert item["id"] in bought and item["reason"].startswith("you ")
        assert f"{item['name']}" in result.text and item["reason"] in result.text


def test_the_model_reads_the_best_few_cards_and_the_shopper_sees_them_all(demo_tools):
    result = suggest(demo_tools, "C0001")  # as rule routing calls it, for every reorder request
    reorder = [i for i in result.items if i["kind"] == "reorder"]
    complements = [i for i in result.items if i["kind"] == "complement"]
    assert len(reorder) > PROMPT_REORDER_LINES and len(complements) > PROMPT_COMPLEMENT_LINES
    shown = reorder[:PROMPT_REORDER_LINES] + complements[:PROMPT_COMPLEMENT_LINES]
    assert all(f"[{i['id']}]" in result.text for i in shown)
    assert not any(f"[{i['id']}]" in result.text for i in result.items if i not in shown)
    assert result.text.count("\n- ") == len(shown)


def test_a_caller_that_names_a_limit_reads_every_card(demo_tools):
    result = suggest(demo_tools, "C0001", limit=6)
    assert len(result.items) > PROMPT_REORDER_LINES + PROMPT_COMPLEMENT_LINES
    assert all(f"[{i['id']}]" in result.text for i in result.items)


def test_complements_never_repeat_a_reorder_item(demo_tools, demo_store):
    checked = 0
    for n in range(1, 201, 7):
        items = suggest(demo_tools, f"C{n:04d}").items
        reorder = {i["id"] for i in items if i["kind"] == "reorder"}
        complements = [i["id"] for i in items if i["kind"] == "complement"]
        assert not reorder & set(complements)
        assert len(complements) == len(set(complements))
        checked += bool(complements)
    assert checked >= 10  # the shipped co-purchase statistics do produce complements


def add_history(store, customer: str, product: str, days_ago: list[float], now: datetime) -> None:
    with store.transaction() as s:
        for n, ago in enumerate(days_ago):
            order_id = f"{customer}-{product}-{n}"
            s.add(
                Order(
                    id=order_id,
                    customer_id=customer,
                    placed_at=now - timedelta(days=ago),
                    status="delivered",
                    carrier="UPS",
                    tracking_number=f"1Z{n:08d}",
                    delivered_at=now - timedelta(days=ago - 1),
                )
            )
            s.add(OrderItem(order_id=order_id, product_id=product, quantity=1, unit_price=Decimal("1"), position=1))


def test_a_weekly_staple_ten_days_overdue_ranks_above_a_once_a_year_item(tiny_store, shipped_model):
    now = datetime(2026, 11, 20, 12, 0)
    with tiny_store.transaction() as s:
        s.add(Customer(id="C9", name="Weekly Shopper", email="w@example.com"))
        s.add(Product(id="P9", name="Birthday Candles", category="Party", price=Decimal("2.50"), stock=5))
    add_history(tiny_store, "C9", "P9", [365], now)
    add_history(tiny_store, "C9", "P1", [17 + 7 * k for k in range(12)], now)  # weekly, last 17 days ago
    tools = ToolRegistry([reorder_tool(tiny_store, shipped_model, lambda: now)])
    items = [i for i in suggest(tools, "C9", limit=5).items if i["kind"] == "reorder"]
    ids = [i["id"] for i in items]
    assert ids[0] == "P1"
    assert "P9" not in ids or ids.index("P9") > ids.index("P1")
    assert "every 7 days" in items[0]["reason"] and "overdue" in items[0]["reason"]
