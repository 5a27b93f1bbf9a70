"""A follow-up is read as the question it stands for: the product or order the conversation is about, the one
the shopper's words point at ("the other one", "the 2 L", "the one before it"), and what they ask of it."""

from decimal import Decimal

import pytest

from bot.assistant.subject import (
    ShopWords,
    named_families,
    names_nothing_sold,
    quantity,
    resolve_order,
    resolve_products,
    tags_in,
)
from retrieval.schema import Product
from retrieval.spelling import words_of
from retrieval.store import OrderView

TAGS = ["vegan", "dairy-free", "gluten-free", "family-size", "vegetarian"]


def product(pid, name, brand, size, price, stock=10, tags="") -> Product:
    return Product(
        id=pid, name=name, brand=brand, category="c", size=size, price=Decimal(price), stock=stock, tags=tags
    )


CATALOG = [
    product("P1", "Gala Apples", "Sunfield", "1.36 kg bag", "4.99", tags="vegan"),
    product("P2", "Honeycrisp Apples", "Sunfield", "1 kg bag", "5.49", tags="vegan"),
    product("P3", "Organic Whole Milk", "Wild Acre", "1 L", "3.49"),
    product("P4", "Organic Whole Milk", "Wild Acre", "2 L", "6.19"),
    product("P5", "Whole Milk", "Meadowvale", "2 L", "3.49"),
    product("P6", "Bran Flakes", "Sunrise Mills", "375 g", "3.99", tags="vegan"),
    product("P7", "Bran Flakes", "Sunrise Mills", "750 g", "6.49", tags="vegan;family-size"),
    product("P8", "Tomato Basil Sauce", "Casa Rustica", "680 ml", "4.39"),
    product("P9", "Tomato Basil Sauce", "Green Basket", "680 ml", "3.39"),
    product("P10", "Cottage Cheese 2%", "Green Basket", "400 g", "6.89", tags="vegetarian"),
    product("P11", "Sour Cream", "Brookfield", "250 ml", "2.49", tags="vegetarian"),
    product("P12", "Tzatziki", "Green Basket", "227 g", "3.39", stock=0, tags="vegetarian"),
    product("P13", "Gluten-Free Oat Granola", "Sunrise Mills", "400 g", "4.79", tags="gluten-free;vegan"),
    product("P14", "Wild Sockeye Salmon Fillets", "Northern Catch", "454 g", "18.29"),
]


def resolve(text, *earlier):
    return resolve_products(text, list(earlier), CATALOG, TAGS)


def ids(resolved):
    return [p.id for p in resolved.products]


def test_the_other_one_is_the_one_of_the_list_not_asked_about():
    resolved = resolve("and the other?", "gala apples or honeycrisp apples? how much are the gala")
    assert ids(resolved) == ["P2"] and resolved.aspects == {"price"}
    assert resolved.text == "How much is the Sunfield Honeycrisp Apples (1 kg bag)?"


def test_the_other_thing_of_a_list_whose_names_carry_figures():
    resolved = resolve(
        "And the other thing?", "Two things: cottage cheese and sour cream. The sour cream cost how much?"
    )
    assert ids(resolved) == ["P10"]


def test_the_first_the_second_and_both_point_into_the_list():
    earlier = "honeycrisp apples or gala apples, how much are they"
    assert ids(resolve("the second one?", earlier)) == ["P1"]
    assert ids(resolve("the first?", earlier)) == ["P2"]
    both = resolve("wich of the 2 is less money", earlier)
    assert ids(both) == ["P2", "P1"] and both.text.startswith("Which is cheaper")


def test_a_size_picks_that_size_of_the_product_talked_about():
    resolved = resolve("ok what about 2 litres", "how much is the wild acre organic whole milk, the 1 litre")
    assert ids(resolved) == ["P4"] and resolved.aspects == {"price"}


def test_a_brand_picks_that_brand_of_the_product_talked_about():
    assert ids(resolve("Thanks - and Green Basket's?", "How much is the Casa Rustica tomato basil sauce?")) == ["P9"]


def test_bigger_and_family_size_pick_the_next_size_up_without_asking_the_tag():
    earlier = "What do the Sunrise Mills Bran Flakes cost?"
    assert ids(resolve("wat about the bigger box", earlier)) == ["P7"]
    family = resolve("And the family-size box, please?", earlier)
    assert ids(family) == ["P7"] and family.tags == () and family.aspects == {"price"}


def test_a_pronoun_asks_of_the_product_itself_and_a_tag_replaces_the_earlier_ask():
    resolved = resolve("It is without dairy?", "How much cost the tzatziki?")
    assert ids(resolved) == ["P12"] and resolved.tags == ("dairy-free",) and resolved.aspects == frozenset()
    assert ids(resolve("still got em?", "tzatziki price")) == ["P12"]
    assert resolve("get two?", "How much is the tzatziki?").aspects == {"stock"}


def test_a_follow_up_naming_a_new_product_takes_the_earlier_ask():
    resolved = resolve("and the sour cream?", "how much is the tzatziki")
    assert ids(resolved) == ["P11"] and resolved.aspects == {"price"}


@pytest.mark.parametrize(
    "text",
    ["ok what about returns?", "thanks, that's all", "do you deliver on sundays?", "is the quinoa vegan?"],
)
def test_a_message_that_points_at_nothing_or_stands_alone_is_not_resolved(text):
    assert resolve(text, "how much are the gala apples") is None


def test_nothing_is_resolved_without_an_earlier_product():
    assert resolve("and the other one?", "what is your returns policy?") is None


def test_sizes_compare_across_units_and_words():
    assert quantity("1.5 L") == quantity("1500 ml") == ("ml", 1500.0)
    assert quantity("1 kg bag") == ("g", 1000.0) and quantity("30 pack") == quantity("30 ct") == ("ct", 30.0)
    assert quantity("family size") is None


def test_a_name_inside_a_longer_named_one_is_not_a_second_product():
    assert [f[0].name for f in named_families("the wild acre organic whole milk", CATALOG)] == ["Organic Whole Milk"]


def test_tags_are_read_in_their_spellings():
    assert tags_in("is it dairy free or gluten-free?", TAGS) == ("dairy-free", "gluten-free")
    assert tags_in("made with no dairy?", TAGS) == ("dairy-free",)


def order(oid, status="delivered", carrier="UPS", tracking="1Z1", placed="2026-11-01 10:00") -> OrderView:
    return OrderView(oid, placed, status, carrier, tracking, "2026-11-05", placed, ())


ORDERS = [order("5302", "placed", None, None, "2026-11-20 09:00"), order("5100"), order("4900", tracking="1Z2")]


def own(number):
    return next((o for o in ORDERS if o.id == number), None)


def resolve_o(text, *messages):
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": m} for i, m in enumerate(messages)]
    return resolve_order(text, history, lambda: ORDERS, own)


def test_an_order_follow_up_asks_of_the_order_the_conversation_named():
    resolved = resolve_o("which courier?", "where is order 5100?", "Your order 5100 was delivered on 2026-11-01.")
    assert resolved.order.id == "5100" and resolved.aspects == {"carrier"}


def test_the_latest_order_is_the_shoppers_newest():
    resolved = resolve_o("latest order ETA?")
    assert resolved.order.id == "5302" and resolved.aspects == {"date"}
    assert resolve_o("k, code to follow it then", "newest order: out the door yet?", "...").aspects == {"tracking"}


def test_the_one_before_it_is_the_order_placed_before_the_subject():
    resolved = resolve_o("no not that one, the one before it", "what's the deal with the last thing i ordered", "...")
    assert resolved.order.id == "5100" and resolved.aspects == {"status"}


def test_an_order_is_read_only_when_the_words_may_ask_about_one():
    def unread():
        raise AssertionError("orders read for a message that asks about none")

    assert resolve_order("do you sell almond milk?", [], unread, own) is None


def test_a_bare_own_order_number_asks_its_status():
    assert resolve_o("It's order 4900.", "a question about an old order", "Sure.").order.id == "4900"
    assert resolve_o("track 4900").aspects == {"tracking"}


def test_an_order_number_that_is_not_the_shoppers_is_never_resolved():
    assert resolve_o("where is order 5245?") is None
    assert resolve_o("what day does it get dropped off", "order 5245 - what's the latest on it?", "...") is None


@pytest.mark.parametrize(
    "text", ["cancel my last order", "the tracking on my latest order hasn't moved, open a claim", "receipt for 5100"]
)
def test_a_request_about_an_order_is_left_to_the_policies(text):
    assert resolve_o(text) is None


def test_a_question_naming_an_own_and_a_foreign_order_is_not_resolved_to_the_own_one():
    assert resolve_o("where are orders 5100 and 5245?") is None


def test_a_named_product_asked_its_price_resolves_to_every_size_it_does_not_narrow():
    assert ids(resolve("how much is the bran flakes?")) == ["P6", "P7"]
    assert ids(resolve("how much is the 750 g bran flakes?")) == ["P7"]
    assert resolve("how much is the bran flakes and can you deliver today?") is None
    assert ids(resolve("Casa Rustica or Green Basket tomato basil sauce, which is cheaper?")) == ["P8", "P9"]


def test_a_follow_up_naming_something_else_is_not_the_earlier_product():
    assert ids(resolve("is the granola gluten-free?", "how much is the tzatziki")) == ["P13"]
    assert resolve("is that granola vegan?", "how much is the tzatziki") is None
    assert resolve("is the sour cream vegan?", "how much is the tzatziki").products[0].id == "P11"


def test_a_long_name_used_but_for_one_word_names_the_product_when_no_name_is_used_whole():
    assert [f[0].id for f in named_families("sockeye salmon fillets, what do they run", CATALOG)] == ["P14"]
    assert [f[0].id for f in named_families("organic whole milk or sockeye salmon fillets", CATALOG)] == ["P3"]
    assert named_families("the wild sockeye salmon", CATALOG) == []  # the thing itself is never the word left out


WORDS = ShopWords(
    catalog=frozenset(words_of(f"{p.brand} {p.name} fresh soup" for p in CATALOG)),
    talk=frozenset(words_of(["do you sell any", "I'd like to browse", "is it in stock", "got any left?"])),
)


@pytest.mark.parametrize("text", ["lobster tails?", "do you sell kayaks", "any phone chargers in stock?"])
def test_asking_for_something_the_shop_has_nothing_of_is_known_as_such(text):
    assert names_nothing_sold(text, "unknown_product", WORDS)


@pytest.mark.parametrize(
    "text",
    ["do you have tzatziki?", "I'd like to browse soup", "any organic milk?", "salmon fillets, any left?"],
)
def test_a_question_with_a_word_the_catalog_uses_may_be_about_something_sold(text):
    assert not names_nothing_sold(text, "stock", WORDS)


@pytest.mark.parametrize(
    "text", ["basil pesto, got any?", "do you sell sockeye caviar", "rice flakes in stock?", "any fresh durian?"]
)
def test_a_word_the_shop_never_uses_next_to_one_of_its_catalogs_names_a_kind_it_does_not_sell(text):
    """ "basil pesto" in a shop whose only basil is a tomato sauce's."""
    assert names_nothing_sold(text, "stock", WORDS)


def test_a_shoppers_filler_beside_everyday_words_is_not_read_as_a_product():
    assert not names_nothing_sold("do u guys have tzatziki at the moment or nah", "stock", WORDS)


def test_only_a_question_whether_something_is_sold_is_read_so():
    assert not names_nothing_sold("how much is delivery for 38 bucks", "price", WORDS)
