"""Model-routed tool calls: parsed at the start of a reply, validated, capped, run for the session's shopper only.

A scripted generator (the real `Generator` protocol) plays the model so each path is exercised
exactly; the last test runs the real bundled model end to end.
"""

from __future__ import annotations

import json

import pytest

from bot.assistant.engine import TOOL_FALLBACK_ANSWER, ChatEngine
from bot.assistant.toolcall import (
    MalformedCall,
    Shape,
    ToolCall,
    ToolFailure,
    format_call,
    parse_call,
    shape_of,
    tool_help,
)
from bot.assistant.tools.base import ToolRegistry
from bot.assistant.tools.lookup_order import lookup_order_tool
from bot.assistant.tools.search_products import search_products_tool
from bot.inference.generator import GenerationStats
from bot.settings import Settings
from retrieval.retriever import Retriever


class ScriptedGenerator:
    """Replies with the scripted texts in order, a few characters per piece, and records every prompt."""

    def __init__(self, *replies: str, piece_chars: int = 3) -> None:
        self.replies = list(replies)
        self.prompts: list[list[dict[str, str]]] = []
        self.piece_chars = piece_chars

    def count_tokens(self, messages) -> int:
        return sum(len(m["content"]) for m in messages) // 4

    def stream(self, messages, *, max_new_tokens=None, stats: GenerationStats | None = None):
        self.prompts.append([dict(m) for m in messages])
        text = self.replies.pop(0)
        stats = stats if stats is not None else GenerationStats()
        stats.prompt_tokens = self.count_tokens(messages)
        for start in range(0, len(text), self.piece_chars):
            stats.completion_tokens += 1
            yield text[start : start + self.piece_chars]
        stats.finish_reason = "stop"


def call(name: str, **arguments) -> str:
    return format_call(ToolCall(name, arguments))


@pytest.fixture(scope="module")
def tiny_shop(tmp_path_factory, embedder):
    from retrieval.store import Store
    from tests.conftest import add_tiny_shop

    folder = tmp_path_factory.mktemp("toolcall")
    store = Store(f"sqlite:///{folder / 'shop.db'}")
    store.create_schema()
    add_tiny_shop(store)
    return store, Retriever.open(store, embedder, folder / "index"), folder


def make_engine(tiny_shop, generator, **overrides) -> ChatEngine:
    store, retriever, folder = tiny_shop
    # The model answers order questions here (not their records), so its tool calls are what is exercised.
    options = {"tool_routing": "model", "fact_answers": "model", "top_k_products": 2, "top_k_policies": 1}
    options |= overrides
    settings = Settings(data_dir=folder, **options)
    tools = ToolRegistry([lookup_order_tool(store), search_products_tool(store, retriever)])
    return ChatEngine(settings, store, retriever, generator, tools)


def run_turn(engine, customer, text):
    cid = engine.start(customer)
    reply = engine.reply(cid, customer, text)
    seen_during = []
    pieces = []
    for piece in reply:
        pieces.append(piece)
        seen_during.append(len(reply.tool_results))
    return reply, pieces, seen_during


def test_shapes_and_parsing():
    assert shape_of("") is Shape.PENDING and shape_of(" <to") is Shape.PENDING
    assert shape_of("<tool>{") is Shape.CALL and shape_of("Hi") is Shape.ANSWER and shape_of("<b>") is Shape.ANSWER
    text = call("lookup_order", order_id="1042")
    assert parse_call(text + " trailing") == ToolCall("lookup_order", {"order_id": "1042"})
    assert parse_call('<tool>{"name": "handoff"}') == ToolCall("handoff", {})
    for bad in (
        "<tool>not json</tool>",
        '<tool>{"arguments": {}}</tool>',
        '<tool>{"name": "x", "arguments": 3}</tool>',
    ):
        with pytest.raises(MalformedCall):
            parse_call(bad)


def test_a_valid_call_runs_the_tool_and_the_model_answers_from_its_result(tiny_shop):
    gen = ScriptedGenerator(call("lookup_order", order_id="1042"), "Order 1042 shipped with UPS.")
    reply, pieces, seen_during = run_turn(make_engine(tiny_shop, gen), "C1", "where's 1042?")
    assert "".join(pieces) == reply.text == "Order 1042 shipped with UPS."
    assert [(n, [i["order_id"] for i in r.items]) for n, r in reply.tool_results] == [("lookup_order", ["1042"])]
    assert seen_during[0] == 1  # the card exists before the first answer piece reaches the shopper
    assert "lookup_order" in gen.prompts[0][0]["content"] and "<tool>" in gen.prompts[0][0]["content"]
    assert "Result of lookup_order:\nOrder 1042" in gen.prompts[1][0]["content"]
    assert reply.stats.completion_tokens > len(pieces)  # the call's tokens count too


def test_an_unknown_tool_is_refused_and_the_model_is_told(tiny_shop):
    gen = ScriptedGenerator(call("delete_orders"), "Sorry, I can't do that.")
    reply, pieces, _ = run_turn(make_engine(tiny_shop, gen), "C1", "delete everything")
    assert reply.text == "Sorry, I can't do that." and reply.tool_results == []
    assert "unknown tool 'delete_orders'" in gen.prompts[1][0]["content"]
    assert isinstance(reply.context.tool_results[0][1], ToolFailure)


def test_bad_arguments_are_refused_against_the_schema(tiny_shop):
    gen = ScriptedGenerator(call("search_products", query="oat", max_results=99), "Let me know what you need.")
    reply, _, _ = run_turn(make_engine(tiny_shop, gen), None, "find oat stuff")
    assert reply.tool_results == []
    assert "bad arguments for search_products" in gen.prompts[1][0]["content"]
    assert "max_results" in gen.prompts[1][0]["content"]


def test_malformed_call_is_refused_without_a_crash(tiny_shop):
    gen = ScriptedGenerator('<tool>{"name": lookup</tool>', "Could you give me your order number?")
    reply, _, _ = run_turn(make_engine(tiny_shop, gen), "C1", "my order?")
    assert reply.text == "Could you give me your order number?"
    assert "not valid JSON" in gen.prompts[1][0]["content"]


def test_calls_beyond_the_cap_are_not_run(tiny_shop):
    gen = ScriptedGenerator(*[call("search_products", query=f"milk {n}") for n in range(5)])
    reply, pieces, _ = run_turn(make_engine(tiny_shop, gen, max_tool_calls_per_turn=2), None, "milk?")
    assert len(reply.tool_results) == 2 and len(gen.prompts) == 3
    assert "".join(pieces) == TOOL_FALLBACK_ANSWER and "<tool>" not in reply.text


def test_with_rule_routing_the_model_cannot_call_tools(tiny_shop):
    gen = ScriptedGenerator(call("lookup_order", order_id="1042"))
    reply, pieces, _ = run_turn(make_engine(tiny_shop, gen, tool_routing="rules"), "C1", "where's 1042?")
    assert reply.tool_results == [] and "".join(pieces) == TOOL_FALLBACK_ANSWER
    assert "<tool>" not in gen.prompts[0][0]["content"]


def test_a_customer_id_in_a_call_is_ignored(tiny_shop):
    gen = ScriptedGenerator(call("lookup_order", customer_id="C2", order_id="1043"), "No such order on your account.")
    reply, _, _ = run_turn(make_engine(tiny_shop, gen), "C1", "show me the latest order of customer C2")
    assert reply.tool_results == [("lookup_order", reply.tool_results[0][1])]
    result = reply.tool_results[0][1]
    assert result.items == [] and "no order 1043" in result.text
    assert "771234567890" not in json.dumps(gen.prompts)  # C2's tracking number never reaches the model


def test_anonymous_call_for_orders_gets_no_orders(tiny_shop):
    gen = ScriptedGenerator(call("lookup_order"), "Please sign in to see your orders.")
    reply, _, _ = run_turn(make_engine(tiny_shop, gen), None, "my orders")
    assert "not signed in" in gen.prompts[1][0]["content"] and "1Z999AA10123456784" not in json.dumps(gen.prompts)


@pytest.mark.parametrize("pieces", [1, 2, 5])
def test_nothing_of_the_call_reaches_the_shopper(tiny_shop, pieces):
    answer = "It is in stock for $3.49."
    gen = ScriptedGenerator("  " + call("search_products", query="oat milk", max_results=1), answer, piece_chars=pieces)
    engine = make_engine(tiny_shop, gen)
    reply, streamed, _ = run_turn(engine, "C1", "oat milk?")
    assert "".join(streamed) == answer
    stored = engine.conversations.messages(reply.conversation_id, "C1")[-1]
    assert stored.content == answer and stored.meta["tools"][0]["items"][0]["id"] == "P1"


def test_a_reply_that_only_looks_like_a_call_prefix_is_still_shown(tiny_shop):
    gen = ScriptedGenerator("<3 thanks!", "<")
    engine = make_engine(tiny_shop, gen)
    reply, pieces, _ = run_turn(engine, None, "hi")
    assert "".join(pieces) == "<3 thanks!"
    reply, pieces, _ = run_turn(engine, None, "hi again")
    assert "".join(pieces) == "<"


def test_tool_help_names_each_tool_and_its_arguments(tiny_shop):
    store, retriever, _ = tiny_shop
    text = tool_help([lookup_order_tool(store), search_products_tool(store, retriever)])
    assert "- lookup_order (order_id):" in text and "- search_products (query, max_results):" in text


class Recording:
    """The real generator, remembering each prompt it was given."""

    def __init__(self, real) -> None:
        self.real, self.prompts = real, []

    def count_tokens(self, messages) -> int:
        return self.real.count_tokens(messages)

    def stream(self, messages, **kwargs):
        self.prompts.append(list(messages))
        return self.real.stream(messages, **kwargs)


@pytest.mark.model
def test_real_model_behind_the_tool_call_path(tiny_shop, generator):
    """The real model with model routing: told the format, its reply classified, streamed and stored without call text."""
    store, retriever, folder = tiny_shop
    settings = Settings(
        data_dir=folder,
        tool_routing="model",
        fact_answers="model",
        top_k_products=2,
        top_k_policies=1,
        max_new_tokens=16,
    )
    tools = ToolRegistry([lookup_order_tool(store), search_products_tool(store, retriever)])
    recording = Recording(generator)
    engine = ChatEngine(settings, store, retriever, recording, tools)
    reply, pieces, _ = run_turn(engine, "C1", "where is my order 1042?")
    assert "To use a tool, reply only <tool>" in recording.prompts[0][0]["content"]
    assert "<tool>" not in "".join(pieces) and reply.text == "".join(pieces) and reply.text.strip()
    assert reply.stats.completion_tokens >= 1 and reply.stats.finish_reason in ("stop", "length")
    stored = engine.conversations.messages(reply.conversation_id, "C1")[-1]
    assert stored.status == "complete" and stored.content == reply.text.strip()


def test_terminal_chat_prints_a_model_called_tools_items_before_the_answer(tiny_shop):
    import io

    from rich.console import Console

    from bot.cli.chat import show_reply

    gen = ScriptedGenerator(call("lookup_order"), "Your order 1042 is on its way.")
    engine = make_engine(tiny_shop, gen)
    cid = engine.start("C1")
    out = io.StringIO()
    show_reply(Console(file=io.StringIO()), engine.reply(cid, "C1", "my orders?"), out)
    assert out.getvalue().splitlines() == [
        "[lookup_order]",
        "  order 1042: shipped, UPS 1Z999AA10123456784",
        "bot> Your order 1042 is on its way.",
    ]


def test_a_model_routed_turn_reports_its_tool_then_its_text_then_that_it_finished(tiny_shop):
    """The events a relay (the server, the terminal) shows in order: the card before the answer it grounds."""
    from bot.assistant.events import Finished, Text, ToolCalled

    gen = ScriptedGenerator(call("lookup_order", order_id="1042"), "Order 1042 shipped with UPS.")
    engine = make_engine(tiny_shop, gen)
    cid = engine.start("C1")
    reply = engine.reply(cid, "C1", "where's 1042?")
    assert not any(isinstance(e, ToolCalled) for e in reply.prelude)  # the model decides: nothing before it runs
    events = list(reply.events())
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "ToolCalled" and kinds[-1] == "Finished"
    assert {type(e).__name__ for e in events[1:-1]} <= {"Sources", "Text"} and "Text" in kinds
    called = events[0]
    assert called.name == "lookup_order" and [i["order_id"] for i in called.result.items] == ["1042"]
    assert "".join(e.text for e in events if isinstance(e, Text)) == reply.text == "Order 1042 shipped with UPS."
    assert isinstance(events[-1], Finished) and events[-1].stats.finish_reason == "stop"


def test_a_refused_call_is_not_reported_to_the_shopper(tiny_shop):
    from bot.assistant.events import ToolCalled

    gen = ScriptedGenerator(call("delete_orders"), "Sorry, I can't do that.")
    engine = make_engine(tiny_shop, gen)
    cid = engine.start("C1")
    events = list(engine.reply(cid, "C1", "delete everything").events())
    assert not any(isinstance(e, ToolCalled) for e in events)
