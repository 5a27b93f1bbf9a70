"""What clients can make the server write, over real sockets: conversations only with a message, one feedback
row per answer, rate limits on hellos, ratings and new REST conversations, and answers saved as they stream.

A fixed answer (no model) reports `stop` too, including the fallback a cut-short tool call ends in.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from sqlalchemy import event, func, select

from retrieval.schema import Conversation, Feedback, Message
from tests.server.conftest import ScriptedGenerator, start_server, tiny_settings
from tests.server.test_protocol import PIECES, ask, closed_with, hello, recv, run


@pytest.fixture(scope="module")
def server(tiny_shop_dir, embedder):
    settings = tiny_settings(
        tiny_shop_dir,
        hellos_per_minute_per_customer=1000,
        feedback_per_minute_per_customer=5000,
        messages_per_minute_per_customer=1000,
        conversations_per_minute_per_customer=1000,
    )
    with start_server(settings, generator=ScriptedGenerator(PIECES), embedder=embedder) as live:
        yield live


def count(live, table) -> int:
    with live.runtime.store.session() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_hellos_write_no_conversation_rows(server):
    async def one(i: int) -> str:
        async with websockets.connect(server.ws_url) as ws:
            ready, history = await hello(ws, server.token("C1") if i % 2 else None)
            assert history["messages"] == []
            return ready["conversation_id"]

    async def go():
        ids = []
        for batch in range(10):
            ids += await asyncio.gather(*(one(batch * 50 + i) for i in range(50)))
        return ids

    before = count(server, Conversation), count(server, Message)
    ids = run(go())
    assert len(set(ids)) == 500
    assert (count(server, Conversation), count(server, Message)) == before


def test_a_new_conversation_is_stored_with_its_first_message_and_stays_its_shoppers(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            ready, _ = await hello(ws, server.token("C1"))
        cid = ready["conversation_id"]
        stored_after_hello = server.ctx.conversations.exists(cid)
        async with websockets.connect(server.ws_url) as ws:  # resumed before it holds a message: still theirs
            again, history = await hello(ws, server.token("C1"), cid)
            events = await ask(ws, "do you sell oat milk?")
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "hello", "token": server.token("C2"), "conversation_id": cid}))
            other = await closed_with(ws)
        return cid, stored_after_hello, again, history, events, other

    cid, stored_after_hello, again, history, events, other = run(go())
    assert not stored_after_hello
    assert again["conversation_id"] == cid and again["state"] == "bot" and history["messages"] == []
    assert events[-1]["finish_reason"] == "stop"
    assert [(m.role, m.status) for m in server.ctx.conversations.messages(cid, "C1")] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert other[:2] == (1008, "forbidden")


def test_a_new_conversation_not_yet_stored_is_not_another_shoppers_to_take(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            ready, _ = await hello(ws, server.token("C1"))
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "hello", "conversation_id": ready["conversation_id"]}))
            return ready["conversation_id"], await closed_with(ws)

    cid, (code, reason, events) = run(go())
    assert (code, reason, [e["code"] for e in events]) == (1008, "forbidden", ["forbidden"])
    assert not server.ctx.conversations.exists(cid)


def test_refused_rest_requests_write_nothing(tiny_shop_dir, embedder):
    settings = tiny_settings(tiny_shop_dir, messages_per_minute_per_customer=3, max_message_chars=50)
    with start_server(settings, generator=ScriptedGenerator(PIECES), embedder=embedder) as live:
        chat = live.url + "v1/chat"
        auth = {"Authorization": f"Bearer {live.token('C2')}"}
        before = count(live, Conversation), count(live, Message)
        refused = [
            httpx.post(chat, json={"text": "   "}, headers=auth),
            httpx.post(chat, json={"text": "x" * 51}, headers=auth),
            httpx.post(chat, json={"text": "is the oat milk vegan?"}, headers={"Authorization": "Bearer forged"}),
        ]
        after_refusals = count(live, Conversation), count(live, Message)
        answered = httpx.post(chat, json={"text": "is the oat milk vegan?"}, headers=auth)
        after_answer = count(live, Conversation), count(live, Message)
        limited = httpx.post(chat, json={"text": "is the oat milk vegan?"}, headers=auth)
        after_limit = count(live, Conversation), count(live, Message)
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [
        (422, "empty_message"),
        (413, "message_too_long"),
        (401, "unauthorized"),
    ]
    assert after_refusals == before
    assert answered.status_code == 200 and answered.json()["finish_reason"] == "stop"
    assert after_answer == (before[0] + 1, before[1] + 2)
    assert limited.status_code == 429
    assert limited.json() == {
        "error": {"code": "rate_limited", "message": "at most 3 messages per minute: wait a moment", "retryable": True}
    }
    assert after_limit == after_answer


def test_feedback_is_one_row_per_answer_and_the_latest_rating_wins(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            await hello(ws, server.token("C1"))
            mid = (await ask(ws, "do you sell oat milk?"))[0]["message_id"]
            for i in range(2000):
                rating = "up" if i % 2 else "down"
                await ws.send(json.dumps({"type": "feedback", "message_id": mid, "rating": rating, "comment": f"{i}"}))
            oks = [await recv(ws) for _ in range(2000)]
        return mid, oks

    mid, oks = run(go())
    assert {e["type"] for e in oks} == {"feedback_ok"}
    with server.runtime.store.session() as s:
        rows = s.scalars(select(Feedback).where(Feedback.message_id == mid)).all()
    assert [(r.rating, r.comment) for r in rows] == [("up", "1999")]
    rest = httpx.post(
        server.url + "v1/feedback",
        json={"message_id": mid, "rating": "down", "comment": "changed my mind"},
        headers={"Authorization": f"Bearer {server.token('C1')}"},
    )
    assert rest.status_code == 201
    with server.runtime.store.session() as s:
        rows = s.scalars(select(Feedback).where(Feedback.message_id == mid)).all()
    assert [(r.rating, r.comment) for r in rows] == [("down", "changed my mind")]


def test_hellos_feedback_and_new_rest_conversations_are_rate_limited(tiny_shop_dir, embedder):
    settings = tiny_settings(
        tiny_shop_dir,
        hellos_per_minute_per_customer=2,
        feedback_per_minute_per_customer=2,
        conversations_per_minute_per_customer=1,
    )

    async def go(live):
        token = live.token("C1")
        async with websockets.connect(live.ws_url) as ws:
            await hello(ws, token)
            mid = (await ask(ws, "do you sell oat milk?"))[0]["message_id"]
            for rating in ("up", "down", "up"):
                await ws.send(json.dumps({"type": "feedback", "message_id": mid, "rating": rating}))
            ratings = [await recv(ws) for _ in range(3)]
            async with websockets.connect(live.ws_url) as second:
                await hello(second, token)
            async with websockets.connect(live.ws_url) as third:
                await third.send(json.dumps({"type": "hello", "token": token}))
                third_hello = await closed_with(third)
            async with websockets.connect(live.ws_url) as other:  # another shopper has their own allowance
                await hello(other, live.token("C2"))
        return mid, ratings, third_hello

    with start_server(settings, generator=ScriptedGenerator(PIECES), embedder=embedder) as live:
        mid, ratings, (code, reason, events) = run(go(live))
        auth = {"Authorization": f"Bearer {live.token('C2')}"}
        rest_rating = httpx.post(
            live.url + "v1/feedback",
            json={"message_id": mid, "rating": "up"},
            headers={"Authorization": f"Bearer {live.token('C1')}"},
        )
        first = httpx.post(live.url + "v1/chat", json={"text": "is the oat milk vegan?"}, headers=auth)
        second = httpx.post(live.url + "v1/chat", json={"text": "is the oat milk vegan?"}, headers=auth)
        same = httpx.post(
            live.url + "v1/chat",
            json={"text": "and is it organic?", "conversation_id": first.json()["conversation_id"]},
            headers=auth,
        )
    assert [e["type"] for e in ratings[:2]] == ["feedback_ok", "feedback_ok"]
    assert (ratings[2]["code"], ratings[2]["retryable"]) == ("rate_limited", True)
    assert "2 ratings per minute" in ratings[2]["message"]
    assert (code, reason) == (1013, "rate limited")
    assert [(e["code"], e["retryable"], e["conversation_id"]) for e in events] == [("rate_limited", True, None)]
    assert rest_rating.status_code == 429 and rest_rating.json()["error"]["code"] == "rate_limited"
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json()["error"] == {
        "code": "rate_limited",
        "message": "at most 1 new conversations per minute: wait a moment",
        "retryable": True,
    }
    assert same.status_code == 200  # continuing a conversation is not starting one


def test_a_streaming_answer_is_saved_at_a_bounded_rate(tiny_shop_dir, embedder):
    """100 pieces over about a second, saved every 0.25 s: a handful of UPDATEs, not one per piece."""
    settings = tiny_settings(tiny_shop_dir, max_new_tokens=100, partial_answer_save_s=0.25)

    async def go(live):
        async with websockets.connect(live.ws_url) as ws:
            await hello(ws)
            return await ask(ws, "tell me about the oat milk")

    with start_server(settings, generator=ScriptedGenerator(["w "] * 100, delay_s=0.01), embedder=embedder) as live:
        updates: list[str] = []

        def seen(_conn, _cursor, statement, _params, _context, _many):
            if statement.lstrip().upper().startswith("UPDATE MESSAGES"):
                updates.append(statement)

        event.listen(live.runtime.store.engine, "before_cursor_execute", seen)
        try:
            events = run(go(live))
        finally:
            event.remove(live.runtime.store.engine, "before_cursor_execute", seen)
    deltas = [e for e in events if e["type"] == "delta"]
    assert len(deltas) == 100 and events[-1]["finish_reason"] == "stop"
    assert 2 <= len(updates) <= 8, updates  # the saves while streaming, and the final one


class CallingGenerator(ScriptedGenerator):
    """A model that only ever calls a tool, so the turn ends in the fixed fallback answer."""

    def __init__(self) -> None:
        super().__init__(['<tool>{"name": "search_products", ', '"arguments": {"query": "oat milk"}}</tool>'])


def test_answers_in_fixed_words_end_with_stop(tiny_shop_dir, embedder):
    """The fallback after a cut-short tool call, a policy answer and a handoff: no model text, whole answers."""
    from bot.assistant.engine import TOOL_FALLBACK_ANSWER

    settings = tiny_settings(tiny_shop_dir, tool_routing="model", max_tool_calls_per_turn=0)

    async def go(live):
        async with websockets.connect(live.ws_url) as ws:
            ready, _ = await hello(ws, live.token("C1"))
            fallback = await ask(ws, "can you help me?")
            policy = await ask(ws, "what is your return policy?")
            handoff = await ask(ws, "can I talk to a real person please?")
        return ready["conversation_id"], fallback, policy, handoff

    with start_server(settings, generator=CallingGenerator(), embedder=embedder) as live:
        cid, fallback, policy, handoff = run(go(live))
        stored = live.ctx.conversations.messages(cid, "C1")
    texts = ["".join(e["text"] for e in events if e["type"] == "delta") for events in (fallback, policy, handoff)]
    assert texts[0] == TOOL_FALLBACK_ANSWER
    assert all(texts)
    assert [events[-1]["finish_reason"] for events in (fallback, policy, handoff)] == ["stop", "stop", "stop"]
    answers = [m for m in stored if m.role == "assistant"]
    assert [(m.status, m.meta["finish_reason"]) for m in answers] == [("complete", "stop")] * 3
    assert any(e["type"] == "handoff" for e in handoff)
