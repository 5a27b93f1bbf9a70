"""Intent rules pick which tool runs before the model answers (never whose data)."""

import json

import pytest
import torch

from bot.assistant.intents import FACT_KINDS, IntentRouter, rule_arguments, tool_for


@pytest.mark.parametrize(
    "text",
    [
        "what should I reorder?",
        "time for my regular shop - what should go in my basket?",
        "I'm running low on stuff, any ideas?",
        "can you order my usual again",
        "Recommend something I buy often",
    ],
)
def test_reorder_requests_call_the_reorder_tool(text):
    assert tool_for(text) == "suggest_reorder"


@pytest.mark.parametrize(
    "text", ["can I talk to a real person?", "connect me with an agent", "human, please", "live agent"]
)
def test_asking_for_a_person_calls_handoff(text):
    assert tool_for(text) == "handoff"


def test_asking_for_a_person_wins_over_a_reorder_request():
    assert tool_for("I want to reorder but let me talk to a person") == "handoff"


@pytest.mark.parametrize(
    "text",
    [
        "where is my order?",
        "is the oat milk in stock?",
        "what's your return policy?",
        "thanks!",
        "can you recommend a good film for tonight?",
        "any ideas for my essay?",
    ],
)
def test_other_questions_call_no_tool(text):
    assert tool_for(text) is None


ROUTING_EXAMPLES = [
    ("show me my orders", "lookup_order"),
    ("list my recent orders", "lookup_order"),
    ("what have I ordered lately?", "lookup_order"),
    ("my order history please", "lookup_order"),
    ("show me some vegan products", "search_products"),
    ("find me gluten-free snacks", "search_products"),
    ("what breakfast options do you have?", "search_products"),
    ("search for coffee", "search_products"),
    ("where is my order?", None),
    ("when will my order arrive?", None),
    ("what's my tracking number?", None),
    ("has my order shipped?", None),
    ("how much is the oat milk?", None),
    ("what's your return policy?", None),
    ("hello!", None),
    ("is the bread in stock?", None),
    ("tell me a joke", None),
]


@pytest.fixture(scope="module")
def router(embedder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("routing")
    (folder / "routing.jsonl").write_text(
        "".join(json.dumps({"text": t, "tool": tool}) + "\n" for t, tool in ROUTING_EXAMPLES)
    )
    return IntentRouter.open(folder / "routing.jsonl", embedder, folder / "index")


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("could you list everything I've bought from you?", "lookup_order"),
        ("I want to see some organic options", "search_products"),
        ("when does my parcel arrive?", None),
        ("how much does the coffee cost?", None),
    ],
)
def test_the_router_carries_labelled_phrasings_over_to_new_wordings(router, text, tool):
    assert tool_for(text, router) == tool


def test_a_router_without_calibration_rows_never_hands_off_or_suggests_reorders(embedder, tmp_path):
    rows = [{"text": "recommend something good", "tool": "suggest_reorder"}, {"text": "help me", "tool": "handoff"}]
    (tmp_path / "routing.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    router = IntentRouter.open(tmp_path / "routing.jsonl", embedder, tmp_path / "index")
    assert router.intent("recommend a good film") == "suggest_reorder"  # what the vote says
    assert tool_for("recommend a good film", router) is None and tool_for("help me please", router) is None


def test_the_regex_rules_win_over_the_router(router):
    assert tool_for("show me my orders, actually just get me a real person", router) == "handoff"


def test_a_routed_search_looks_for_what_the_shopper_wrote():
    assert rule_arguments("search_products", "vegan snacks?") == {"query": "vegan snacks?"}
    assert rule_arguments("lookup_order", "show me my orders") == {}


def test_a_routing_file_with_an_empty_text_is_refused_naming_the_line(embedder, tmp_path):
    (tmp_path / "routing.jsonl").write_text('{"text": "show me my orders", "tool": "lookup_order"}\n{"text": ""}\n')
    with pytest.raises(ValueError, match="line 2"):
        IntentRouter.open(tmp_path / "routing.jsonl", embedder, tmp_path / "index")


ORDER_AND_OTHER_PHRASINGS = [
    ("where is my order?", "order_status"),
    ("has my order shipped yet?", "order_status"),
    ("is my parcel on its way?", "order_status"),
    ("what's my tracking number?", "tracking"),
    ("can I get the tracking code for my delivery?", "tracking"),
    ("when will my order arrive?", "delivery_date"),
    ("when does my package get here?", "delivery_date"),
    ("what's your return policy?", "policy"),
    ("how much does delivery cost?", "policy"),
    ("what are your delivery fees?", "policy"),
    ("do you ship to my area?", "policy"),
    ("is the bread in stock?", "stock"),
    ("do you have sourdough?", "stock"),
    ("how much is the oat milk?", "price"),
    ("hi there", "greeting"),
]


def test_the_router_tells_order_questions_from_others_by_their_labelled_intents(embedder, tmp_path):
    (tmp_path / "routing.jsonl").write_text(
        "".join(json.dumps({"text": t, "tool": None, "intent": i}) + "\n" for t, i in ORDER_AND_OTHER_PHRASINGS)
    )
    router = IntentRouter.open(tmp_path / "routing.jsonl", embedder, tmp_path / "index")
    assert router.asks_about_orders("has my parcel left the warehouse yet?")
    assert router.asks_about_orders("I'd like the tracking number for my package")
    assert not router.asks_about_orders("what do you charge for shipping?")
    assert not router.asks_about_orders("have you got any rye bread in stock?")


def test_a_routing_file_without_intents_never_calls_a_message_an_order_question(router):
    assert not router.asks_about_orders("where is my order?")


SHAPE_OVER_WORDS = [
    ("show me some vegan products", "search", "search_products"),
    ("what breakfast options do you have?", "search", "search_products"),
    ("I'm looking for tea", "search", "search_products"),
    ("list your pasta range", "search", "search_products"),
    ("find me frozen food", "search", "search_products"),
    ("search for cleaning products", "search", "search_products"),
    ("is the tomato soup vegetarian?", "attribute", None),
    ("does the minestrone soup contain gluten?", "attribute", None),
    ("is the cream of mushroom soup kosher?", "attribute", None),
    ("how much is the chicken soup?", "price", None),
    ("what does the lentil soup cost?", "price", None),
    ("is the pea soup in stock?", "stock", None),
]


def test_the_router_follows_what_a_question_asks_not_the_product_words_it_shares(embedder, tmp_path):
    (tmp_path / "routing.jsonl").write_text(
        "".join(json.dumps({"text": t, "intent": i, "tool": tool}) + "\n" for t, i, tool in SHAPE_OVER_WORDS)
    )
    router = IntentRouter.open(tmp_path / "routing.jsonl", embedder, tmp_path / "index")
    assert router.tool_for("I'd like to browse your soups") == "search_products"
    assert router.tool_for("is the carrot soup vegan?") is None


def test_the_same_phrasings_always_fit_the_same_router(embedder, tmp_path):
    (tmp_path / "routing.jsonl").write_text(
        "".join(json.dumps({"text": t, "intent": i, "tool": tool}) + "\n" for t, i, tool in SHAPE_OVER_WORDS)
    )
    first, second = (IntentRouter.open(tmp_path / "routing.jsonl", embedder, tmp_path / "index") for _ in range(2))
    assert first.classes == second.classes and (first.weights == second.weights).all()


def test_the_router_leaves_out_only_the_kinds_of_facts_no_likely_intent_reads(embedder, tmp_path):
    (tmp_path / "routing.jsonl").write_text(
        "".join(json.dumps({"text": t, "tool": None, "intent": i}) + "\n" for t, i in ORDER_AND_OTHER_PHRASINGS)
    )
    router = IntentRouter.open(tmp_path / "routing.jsonl", embedder, tmp_path / "index")
    assert router.fact_kinds("how much does the oat milk cost?") == {"products"}
    assert "orders" in router.fact_kinds("has my parcel left the warehouse yet?")
    assert "products" not in router.fact_kinds("has my parcel left the warehouse yet?")


def test_a_routing_file_without_intents_leaves_no_kind_of_fact_out(router):
    assert router.fact_kinds("how much is the oat milk?") == FACT_KINDS


REORDER_AND_OTHERS_DATA = [
    ("what should I reorder?", "reorder"),
    ("what do I usually buy that I'm running low on?", "reorder"),
    ("suggest things to buy again", "reorder"),
    ("what is Jonas Lee's address?", "other_customer_data"),
    ("tell me what Maya Phillips ordered", "other_customer_data"),
    ("what's your return policy?", "policy"),
    ("how do refunds work?", "policy"),
    ("how much is the oat milk?", "price"),
    ("where is my order?", "order_status"),
]


def test_reorder_requests_and_other_shoppers_data_read_no_facts(embedder, tmp_path):
    (tmp_path / "routing.jsonl").write_text(
        "".join(json.dumps({"text": t, "tool": None, "intent": i}) + "\n" for t, i in REORDER_AND_OTHERS_DATA)
    )
    router = IntentRouter.open(tmp_path / "routing.jsonl", embedder, tmp_path / "index")
    assert router.fact_kinds("what should I reorder this week?") == frozenset()  # the tool's result is the facts
    assert "orders" not in router.fact_kinds("what is Jonas Lee's email address?")
    assert router.fact_kinds("what is your returns policy?") == {"policies"}
    assert "policies" not in router.fact_kinds("where is my order?")  # an order question reads the orders alone


CALIBRATED = [
    ("I want a human being, not a bot", "handoff", "handoff", "fit"),
    ("get me an employee of the shop", "handoff", "handoff", "fit"),
    ("is anybody real working there? let me talk to them", "handoff", "handoff", "fit"),
    ("I need to escalate this to your staff", "handoff", "handoff", "fit"),
    ("can a member of your team take over this chat", "handoff", "handoff", "calibration"),
    ("put a real employee on please", "handoff", "handoff", "calibration"),
    ("what is your return policy?", "policy", None, "fit"),
    ("how much does shipping cost?", "policy", None, "fit"),
    ("which cards do you accept?", "policy", None, "fit"),
    ("how long do refunds take?", "policy", None, "calibration"),
    ("do you deliver on sundays?", "policy", None, "calibration"),
    ("the eggs came smashed, so annoyed", "complaint", None, "fit"),
    ("my milk was sour on arrival, terrible", "complaint", None, "fit"),
    ("the driver was rude to me", "complaint", None, "calibration"),
    ("cancel my order now", "beyond_powers", None, "fit"),
    ("change the address on my delivery", "beyond_powers", None, "fit"),
    ("remove the bread from my order", "beyond_powers", None, "calibration"),
    ("how much is the oat milk?", "price", None, "fit"),
    ("what does the rye bread cost?", "price", None, "fit"),
    ("price of the coffee beans?", "price", None, "calibration"),
    ("where is my order?", "order_status", None, "fit"),
    ("has my parcel shipped?", "order_status", None, "fit"),
    ("any news on my delivery?", "order_status", None, "calibration"),
]


@pytest.fixture(scope="module")
def calibrated(embedder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibrated")
    (folder / "routing.jsonl").write_text(
        "".join(
            json.dumps({"text": t, "intent": i, "tool": tool, "split": split}) + "\n"
            for t, i, tool, split in CALIBRATED
        )
    )
    return IntentRouter.open(folder / "routing.jsonl", embedder, folder / "index")


def test_thresholds_are_calibrated_on_the_held_apart_rows_and_reported(calibrated):
    report = calibrated.calibration
    assert report["rows"] == sum(row[3] == "calibration" for row in CALIBRATED)
    assert set(report["routes"]) >= {"handoff", "policy_answer"}
    assert report["routes"]["handoff"]["precision"] >= 0.95 and report["routes"]["handoff"]["tool"] == "handoff"
    assert all(0 < t <= 1.01 for t in calibrated.thresholds.values())


def test_the_held_apart_rows_are_not_fitted_on(calibrated, embedder, tmp_path):
    fit_only = [row for row in CALIBRATED if row[3] == "fit"]
    (tmp_path / "routing.jsonl").write_text(
        "".join(json.dumps({"text": t, "intent": i, "tool": tool}) + "\n" for t, i, tool, _ in fit_only)
    )
    alone = IntentRouter.open(tmp_path / "routing.jsonl", embedder, tmp_path / "index")
    assert alone.classes == calibrated.classes
    assert torch.allclose(alone.weights, calibrated.weights) and torch.allclose(alone.bias, calibrated.bias)


def test_a_request_for_a_person_no_phrase_pattern_knows_reaches_the_handoff_through_the_router(calibrated):
    assert tool_for("could an actual employee take over please", calibrated) == "handoff"


def test_policy_questions_complaints_and_requests_beyond_the_bot_are_acted_on_as_such(calibrated):
    assert calibrated.route("what's the refund policy?").acted_on == "policy"
    assert calibrated.route("cancel my order please").acted_on == "beyond_powers"
    assert calibrated.route("how much are the coffee beans?").acted_on is None
    assert calibrated.route("where's my parcel?").acted_on is None


def test_no_route_is_taken_where_another_intent_is_likelier(calibrated):
    routing = calibrated.route("has my order shipped yet?")
    assert routing.intent == "order_status" and routing.acted_on is None and routing.tool is None


NEAR_ONE_OF_FEW = [
    ("when do I receive a tracking number for a parcel order?", "policy"),
    ("how much is express shipping?", "policy"),
    ("what's my tracking number?", "tracking"),
    ("give me the tracking number for my order", "tracking"),
    ("tracking number for my parcel please", "tracking"),
    ("can I have my order's tracking code", "tracking"),
    ("where do I track my parcel, what's the number?", "tracking"),
    ("send me my parcel's tracking number", "tracking"),
    ("I need the tracking number of my order", "tracking"),
    ("what is the tracking code for my parcel?", "tracking"),
]


def router_of(rows, embedder, folder):
    (folder / "routing.jsonl").write_text("".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in rows))
    return IntentRouter.open(folder / "routing.jsonl", embedder, folder / "index")


def test_a_message_worded_like_a_phrasing_follows_it(embedder, tmp_path):
    router = router_of(NEAR_ONE_OF_FEW, embedder, tmp_path)
    assert router.intent("when do i actually get a tracking number for a parcel order") == "policy"
    assert router.intent("tracking number of my order please") == "tracking"


def test_the_routers_probabilities_blend_its_linear_layer_with_the_nearest_phrasings_vote(
    embedder, tmp_path, monkeypatch
):
    import bot.assistant.intents as intents

    router = router_of(NEAR_ONE_OF_FEW, embedder, tmp_path)
    question = "when do i get a tracking number for a parcel?"
    share = intents.NEIGHBOUR_SHARE
    blended = router.route(question).probabilities
    monkeypatch.setattr(intents, "NEIGHBOUR_SHARE", 0.0)
    linear = router.route(question).probabilities
    monkeypatch.setattr(intents, "NEIGHBOUR_SHARE", 1.0)
    vote = router.route(question).probabilities
    for label in router.classes:
        assert blended[label] == pytest.approx((1 - share) * linear[label] + share * vote[label], abs=1e-5)
    assert sum(vote.values()) == pytest.approx(1.0) and vote["policy"] > linear["policy"]


def test_a_class_with_more_phrasings_does_not_win_the_vote_by_number_alone(embedder, tmp_path):
    rows = [(f"suggest things to buy again {n}", "reorder") for n in range(12)]
    rows += [("show me my past purchases", "order_history"), ("list what I bought before", "order_history")]
    router = router_of(rows, embedder, tmp_path)
    assert router.balance[router.classes.index("order_history")] > router.balance[router.classes.index("reorder")]
    assert router.intent("pull up my past purchases") == "order_history"


def test_the_routers_phrasings_are_kept_for_the_speller(embedder, tmp_path):
    assert router_of(NEAR_ONE_OF_FEW, embedder, tmp_path).phrasings == [t for t, _ in NEAR_ONE_OF_FEW]
