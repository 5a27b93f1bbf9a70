"""`shopbot eval routing`: the router alone, scored by route and intent with a confusion table."""

from __future__ import annotations

import json

import pytest

from adapters.evaluate import AnswerCase
from adapters.routing_eval import evaluate_routing
from bot.assistant.intents import IntentRouter

PHRASINGS = [
    ("show me my orders", "lookup_order", "order_history"),
    ("list my recent orders", "lookup_order", "order_history"),
    ("what have I bought before?", "lookup_order", "order_history"),
    ("find me vegan snacks", "search_products", "search"),
    ("do you sell gluten-free bread?", "search_products", "search"),
    ("I'm looking for coffee", "search_products", "search"),
    ("what is your return policy?", None, "policy"),
    ("how long do refunds take?", None, "policy"),
    ("do you deliver on sundays?", None, "policy"),
]


@pytest.fixture(scope="module")
def router(embedder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("routing-eval")
    rows = [{"text": t, "tool": tool, "intent": intent} for t, tool, intent in PHRASINGS]
    (folder / "routing.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return IntentRouter.open(folder / "routing.jsonl", embedder, folder / "index")


def case(n: int, text: str, tool: str | None, intent: str | None) -> AnswerCase:
    return AnswerCase(id=f"c{n}", customer_id="C1", turns=[text], expect_tool=tool, intent=intent)


def test_routes_are_scored_by_route_with_a_confusion_table(router):
    cases = [
        case(1, "can you pull up my order history", "lookup_order", "order_history"),
        case(2, "got any oat milk products?", "search_products", "search"),
        case(3, "I want to talk to a real person", "handoff", "handoff"),  # the handoff's own phrases
        case(4, "what's your refund policy?", "none", "policy"),
        case(5, "what's your refund policy?", "lookup_order", "policy"),  # a wrong expectation: scored wrong
        case(6, "hello", None, None),  # not scored
    ]
    result = evaluate_routing(router, cases)
    routes = result["routes"]
    assert routes["cases"] == 5 and routes["accuracy"] == 0.8
    assert routes["by_route"]["handoff"] == {"cases": 1, "correct": 1, "accuracy": 1.0}
    assert routes["confusion"]["lookup_order"] == {"lookup_order": 1, "none": 1}
    assert [m["id"] for m in result["misrouted"]] == ["c5"]
    assert result["intents"]["cases"] == 4  # "handoff" is no intent this router knows
    assert result["intents"]["by_intent"]["policy"]["cases"] == 2


def test_without_a_router_only_the_tools_phrases_route(embedder):
    result = evaluate_routing(None, [case(1, "show me my orders", "lookup_order", "order_history")])
    assert result["routes"]["accuracy"] == 0.0 and "intents" not in result
