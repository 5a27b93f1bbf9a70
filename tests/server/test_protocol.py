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
            events = await ask(ws, "is the oat milk vegan?")
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
            first = await ask(ws, "is the oat milk vegan?")
        async with websockets.connect(server.ws_url) as ws:
            again, history = await hello(ws, server.token("C1"), ready["conversation_id"])
        return ready, first, again, history

    ready, first, again, history = run(go())
    assert again["conversation_id"] == ready["conversation_id"]
    messages = history["messages"]
    assert [(m["role"], m["status"]) for m in messages] == [("user", "complete"), ("assistant", "complete")]
    assert messages[0]["text"] == "is the oat milk vegan?"
    assert messages[1]["message_id"] == first[0]["message_id"]
    assert messages[1]["text"] == "".join(PIECES)
    assert any(s["id"] == "P1" for s in messages[1]["sources"])
