"""Protocol v1 over a real socket, with a scripted generator so the protocol logic is tested quickly.

The engine, SQLite, FAISS and BM25 are real (the tiny two-customer shop); only the model is scripted.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.server.conftest import ScriptedGenerator, start_server, tiny_settings

PIECES = ["Our", " oat", " milk", " is", " vegan", "."]


@pytest.fixture(scope="module")
def server(tiny_shop_dir, embedder):
    generator = ScriptedGenerator(PIECES, delay_s=0.005)
    with start_server(tiny_settings(tiny_shop_dir), generator=generator, embedder=embedder) as live:
        yield live


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def recv(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def until(ws, kind: str) -> tuple[dict, list[dict]]:
    """Events up to and including the first of `kind`."""
    seen = []
    while True:
        event = await recv(ws)
        seen.append(event)
        if event["type"] == kind:
            return event, seen


async def hello(ws, token=None, conversation_id=None) -> tuple[dict, dict]:
    await ws.send(json.dumps({"type": "hello", "token": token, "conversation_id": conversation_id}))
    ready = await recv(ws)
    assert ready["type"] == "ready", ready
    history = await recv(ws)
    assert history["type"] == "history"
    return ready, history


async def ask(ws, text: str, client_msg_id: str = "c-1") -> list[dict]:
    await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": client_msg_id}))
    _, events = await until(ws, "end")
    return events


async def closed_with(ws) -> tuple[int, str, list[dict]]:
    events = []
    try:
        while True:
            events.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
    except ConnectionClosed as exc:
        return exc.rcvd.code, exc.rcvd.reason, events


def test_a_streamed_answer_has_start_citations_deltas_and_end(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            ready, history = await hello(ws, server.token("C1"))
            assert ready["customer"] == {"id": "C1", "name": "Ada Shopper"} and ready["state"] == "bot"
            assert history["messages"] == []
            events = await ask(ws, "do you sell oat milk?")
            return ready, events

    ready, events = run(go())
    cid = ready["conversation_id"]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and "citations" in kinds
    assert all(e["conversation_id"] == cid for e in events)
    start, end = events[0], events[-1]
    assert start["client_msg_id"] == "c-1"
    deltas = [e for e in events if e["type"] == "delta"]
    assert [d["seq"] for d in deltas] == list(range(len(PIECES)))
    assert "".join(d["text"] for d in deltas) == "".join(PIECES)
    assert all(e["message_id"] == start["message_id"] for e in events)
    citations = next(e for e in events if e["type"] == "citations")
    assert {"type": "product", "id": "P1", "title": "Barista Oat Milk"} in citations["sources"]
    assert end["finish_reason"] == "stop"
    assert end["usage"]["completion_tokens"] == len(PIECES) and end["usage"]["prompt_tokens"] > 0
    assert end["timings"]["ttft_ms"] is not None and end["timings"]["total_ms"] >= end["timings"]["ttft_ms"]
    stored = server.ctx.conversations.messages(cid, "C1")
    assert [(m.role, m.status) for m in stored] == [("user", "complete"), ("assistant", "complete")]
    assert stored[1].id == start["message_id"] and stored[1].content == "".join(PIECES)


def test_reconnecting_replays_the_finished_messages(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            ready, _ = await hello(ws, server.token("C1"))
            first = await ask(ws, "do you sell oat milk?")
        async with websockets.connect(server.ws_url) as ws:
            again, history = await hello(ws, server.token("C1"), ready["conversation_id"])
        return ready, first, again, history

    ready, first, again, history = run(go())
    assert again["conversation_id"] == ready["conversation_id"]
    messages = history["messages"]
    assert [(m["role"], m["status"]) for m in messages] == [("user", "complete"), ("assistant", "complete")]
    assert messages[0]["text"] == "do you sell oat milk?"
    assert messages[1]["message_id"] == first[0]["message_id"]
    assert messages[1]["text"] == "".join(PIECES)
    assert any(s["id"] == "P1" for s in messages[1]["sources"])


def test_a_forged_token_is_refused_with_1008(server):
    async def go():
        forged = server.token("C1")[:-4] + "AAAA"
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "hello", "token": forged}))
            return await closed_with(ws)

    code, reason, events = run(go())
    assert (code, reason) == (1008, "unauthorized")
    assert events[0]["type"] == "error" and events[0]["code"] == "unauthorized"


def test_a_token_signed_with_another_key_is_refused(server):
    import jwt

    async def go():
        other = jwt.encode({"sub": "C1", "exp": int(time.time()) + 600}, "x" * 40, algorithm="HS256")
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "hello", "token": other}))
            return await closed_with(ws)

    assert run(go())[:2] == (1008, "unauthorized")


def test_an_expired_token_is_refused_with_1008(server):
    async def go():
        expired = server.token("C1", ttl_minutes=1, now=time.time() - 3600)
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "hello", "token": expired}))
            return await closed_with(ws)

    code, reason, events = run(go())
    assert (code, reason) == (1008, "unauthorized")
    assert "expired" in events[0]["message"]


def test_a_token_for_an_unknown_customer_is_refused(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "hello", "token": server.token("C404")}))
            return await closed_with(ws)

    assert run(go())[:2] == (1008, "unauthorized")


def test_another_customers_conversation_is_refused(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            ready, _ = await hello(ws, server.token("C1"))
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(
                json.dumps({"type": "hello", "token": server.token("C2"), "conversation_id": ready["conversation_id"]})
            )
            return await closed_with(ws)

    code, reason, events = run(go())
    assert (code, reason) == (1008, "forbidden")
    assert [e["code"] for e in events] == ["forbidden"]


def test_an_anonymous_visitor_cannot_open_a_customers_conversation(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            ready, _ = await hello(ws, server.token("C1"))
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "hello", "conversation_id": ready["conversation_id"]}))
            return await closed_with(ws)

    assert run(go())[:2] == (1008, "forbidden")


def test_an_unknown_conversation_is_refused(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "hello", "token": server.token("C1"), "conversation_id": "nope"}))
            return await closed_with(ws)

    code, reason, events = run(go())
    assert (code, reason, events[0]["code"]) == (1008, "not found", "not_found")


def test_a_page_from_another_origin_is_refused(server):
    async def go():
        async with websockets.connect(server.ws_url, origin="https://evil.example") as ws:
            return await closed_with(ws)

    assert run(go())[:2] == (1008, "origin not allowed")


def test_allowed_and_own_origins_may_connect(server):
    async def go():
        ok = []
        for origin in ("http://localhost:8000", f"http://127.0.0.1:{server.port}"):
            async with websockets.connect(server.ws_url, origin=origin) as ws:
                ready, _ = await hello(ws)
                ok.append(ready["customer"])
        return ok

    assert run(go()) == [None, None]


def test_an_anonymous_visitor_asking_for_orders_gets_no_order_data(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            ready, _ = await hello(ws)
            assert ready["customer"] is None
            return await ask(ws, "where is my order 1042? what is the tracking number of order 1043?")

    before = len(server.runtime.generator.prompts)
    events = run(go())
    sources = [s for e in events if e["type"] == "citations" for s in e["sources"]]
    assert all(s["type"] != "order" for s in sources)
    for messages in server.runtime.generator.prompts[before:]:  # none at all when the sign-in gate answers
        prompt = json.dumps(messages)
        assert "1Z999AA10123456784" not in prompt and "771234567890" not in prompt
        assert "FedEx" not in prompt and "UPS" not in prompt
    text = "".join(e.get("text", "") for e in events if e["type"] == "delta")
    assert "1Z999AA10123456784" not in text and "771234567890" not in text


def test_a_signed_in_customer_gets_only_their_own_orders(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            await hello(ws, server.token("C1"))
            return await ask(ws, "where are orders 1042 and 1043?")

    events = run(go())
    orders = {s["id"] for e in events if e["type"] == "citations" for s in e["sources"] if s["type"] == "order"}
    assert orders == {"1042"}
    prompt = json.dumps(server.runtime.generator.prompts[-1])
    assert "1Z999AA10123456784" in prompt and "771234567890" not in prompt


def test_bad_frames_get_an_error_and_the_connection_stays(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "message", "text": "hi"}))
            before_hello = await recv(ws)
            await hello(ws)
            codes = []
            for frame in (
                "not json",
                "[1, 2]",
                json.dumps({"type": "dance"}),
                json.dumps({"type": "message"}),
                b"\x00\x01",
            ):
                await ws.send(frame)
                codes.append((await recv(ws))["code"])
            await ws.send(json.dumps({"type": "hello"}))
            codes.append((await recv(ws))["code"])
            await ws.send(json.dumps({"type": "ping"}))
            return before_hello, codes, await recv(ws)

    before_hello, codes, pong = run(go())
    assert before_hello["code"] == "bad_frame" and before_hello["conversation_id"] is None
    assert codes == ["bad_frame"] * 6
    assert pong["type"] == "pong"


def test_too_long_and_empty_messages_get_errors_and_the_connection_stays(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            await hello(ws)
            await ws.send(json.dumps({"type": "message", "text": "x" * 2001, "client_msg_id": "long"}))
            too_long = await recv(ws)
            await ws.send(json.dumps({"type": "message", "text": "   ", "client_msg_id": "blank"}))
            empty = await recv(ws)
            answer = await ask(ws, "do you sell oat milk?")
            return too_long, empty, answer

    too_long, empty, answer = run(go())
    assert (too_long["code"], too_long["client_msg_id"], too_long["retryable"]) == ("message_too_long", "long", False)
    assert "2000" in too_long["message"]
    assert empty["code"] == "empty_message"
    assert answer[-1]["type"] == "end" and answer[-1]["finish_reason"] == "stop"


def test_a_frame_over_64_kib_closes_with_1009(server):
    async def go():
        async with websockets.connect(server.ws_url, max_size=None) as ws:
            await hello(ws)
            await ws.send(json.dumps({"type": "message", "text": "x" * 70_000}))
            return await closed_with(ws)

    assert run(go())[0] == 1009


def test_feedback_on_an_answer_is_stored(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            ready, _ = await hello(ws, server.token("C1"))
            events = await ask(ws, "do you sell oat milk?")
            mid = events[0]["message_id"]
            await ws.send(json.dumps({"type": "feedback", "message_id": mid, "rating": "up", "comment": "thanks"}))
            ok = await recv(ws)
            await ws.send(json.dumps({"type": "feedback", "message_id": 10**9, "rating": "down"}))
            missing = await recv(ws)
            return mid, ok, missing

    from sqlalchemy import select

    from retrieval.schema import Feedback

    mid, ok, missing = run(go())
    assert ok == {"type": "feedback_ok", "conversation_id": ok["conversation_id"], "message_id": mid, "rating": "up"}
    assert missing["code"] == "not_found"
    with server.runtime.store.session() as s:
        rows = s.scalars(select(Feedback).where(Feedback.message_id == mid)).all()
    assert [(r.rating, r.comment) for r in rows] == [("up", "thanks")]


def test_feedback_on_another_conversations_answer_is_refused(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            await hello(ws)
            mid = (await ask(ws, "do you sell oat milk?"))[0]["message_id"]
        async with websockets.connect(server.ws_url) as ws:
            await hello(ws)
            await ws.send(json.dumps({"type": "feedback", "message_id": mid, "rating": "down"}))
            return await recv(ws)

    assert run(go())["code"] == "forbidden"
