"""Each limit over a real socket: stop and disconnect cancel within a token step, one answer per conversation,
the server-wide generation queue, rate limits per connection and per customer, and the idle timeout.

A scripted generator yields a piece every 20 ms, so a cancelled answer is plainly shorter than a full one.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.server.conftest import ScriptedGenerator, start_server, tiny_settings
from tests.server.test_protocol import closed_with, hello, recv, run, until

SLOW = ["w "] * 100


@pytest.fixture(scope="module")
def slow(tiny_shop_dir, embedder):
    settings = tiny_settings(tiny_shop_dir, max_new_tokens=100, max_concurrent_generations=1, max_queued_generations=1)
    with start_server(settings, generator=ScriptedGenerator(SLOW, delay_s=0.02), embedder=embedder) as live:
        yield live


async def send_message(ws, text="tell me about the oat milk", client_msg_id="c-1"):
    await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": client_msg_id}))


async def deltas(ws, n: int) -> list[dict]:
    got = []
    while len(got) < n:
        event = await recv(ws)
        if event["type"] == "delta":
            got.append(event)
    return got


def stored(live, conversation_id, customer_id=None):
    return live.ctx.conversations.messages(conversation_id, customer_id)


def test_stop_ends_the_answer_and_stores_it_interrupted(slow):
    async def go():
        async with websockets.connect(slow.ws_url) as ws:
            ready, _ = await hello(ws)
            await send_message(ws)
            first = await deltas(ws, 3)
            await ws.send(json.dumps({"type": "stop"}))
            end, rest = await until(ws, "end")
            return ready, first + [e for e in rest if e["type"] == "delta"], end

    ready, received, end = run(go())
    assert end["finish_reason"] == "cancelled"
    assert 3 <= len(received) < len(SLOW) // 2
    last = stored(slow, ready["conversation_id"])[-1]
    assert (last.role, last.status, last.id) == ("assistant", "interrupted", end["message_id"])
    assert last.content == "".join(d["text"] for d in received).strip()


def test_a_second_message_while_answering_is_busy(slow):
    async def go():
        async with websockets.connect(slow.ws_url) as ws:
            await hello(ws)
            await send_message(ws, client_msg_id="first")
            await deltas(ws, 1)
            await send_message(ws, "and returns?", client_msg_id="second")
            busy, _ = await until(ws, "error")
            await ws.send(json.dumps({"type": "stop"}))
            end, _ = await until(ws, "end")
            return busy, end

    busy, end = run(go())
    assert (busy["code"], busy["client_msg_id"], busy["retryable"]) == ("busy", "second", True)
    assert end["finish_reason"] == "cancelled"


def test_a_second_connection_to_a_conversation_that_is_answering_is_busy(slow):
    async def go():
        token = slow.token("C1")
        async with websockets.connect(slow.ws_url) as one, websockets.connect(slow.ws_url) as two:
            ready, _ = await hello(one, token)
            await hello(two, token, ready["conversation_id"])
            await send_message(one)
            await deltas(one, 1)
            await send_message(two, "and returns?", client_msg_id="other-tab")
            busy = await recv(two)
            await one.send(json.dumps({"type": "stop"}))
            await until(one, "end")
            return busy

    assert run(go())["code"] == "busy"


def test_a_dropped_connection_cancels_its_generation_within_a_step(slow):
    generator = slow.runtime.generator

    async def go():
        ws = await websockets.connect(slow.ws_url)
        ready, _ = await hello(ws)
        await send_message(ws)
        await deltas(ws, 3)
        ws.transport.abort()  # the client vanishes without a closing handshake
        return ready["conversation_id"]

    cid = run(go())
    deadline = time.monotonic() + 5
    while stored(slow, cid)[-1].status == "streaming":
        assert time.monotonic() < deadline, "the generation was not cancelled"
        time.sleep(0.01)
    steps = generator.steps
    time.sleep(0.2)  # ten more token steps, had it kept going
    last = stored(slow, cid)[-1]
    assert last.status == "interrupted" and generator.steps == steps
    assert 3 <= len(last.content.split()) < len(SLOW) // 2


def test_when_every_slot_is_busy_answers_queue_and_beyond_the_queue_1013(slow):
    async def go():
        a = await websockets.connect(slow.ws_url)
        b = await websockets.connect(slow.ws_url)
        c = await websockets.connect(slow.ws_url)
        for ws in (a, b, c):
            await hello(ws)
        await send_message(a)
        await deltas(a, 1)
        await send_message(b, client_msg_id="b")
        queued, before = await until(b, "queued")
        await send_message(c, client_msg_id="c")
        refused = await closed_with(c)
        await a.send(json.dumps({"type": "stop"}))
        await until(a, "end")
        b_deltas = await deltas(b, 2)
        await b.send(json.dumps({"type": "stop"}))
        b_end, _ = await until(b, "end")
        await a.close()
        await b.close()
        return queued, before, refused, b_deltas, b_end

    queued, before, (code, reason, c_events), b_deltas, b_end = run(go())
    assert before[0]["type"] == "start" and queued["message_id"] == before[0]["message_id"]
    assert queued["position"] == 1
    assert (code, reason) == (1013, "overloaded")
    assert c_events[-1]["code"] == "overloaded" and c_events[-1]["retryable"] is True
    assert all(d["message_id"] == queued["message_id"] for d in b_deltas)
    assert b_end["finish_reason"] == "cancelled"


def test_stop_while_queued_ends_the_answer_without_generating(slow):
    generator = slow.runtime.generator

    async def go():
        async with websockets.connect(slow.ws_url) as a, websockets.connect(slow.ws_url) as b:
            await hello(a)
            ready, _ = await hello(b)
            await send_message(a)
            await deltas(a, 1)
            await send_message(b)
            queued, _ = await until(b, "queued")
            prompts = len(generator.prompts)
            await b.send(json.dumps({"type": "stop"}))
            end, events = await until(b, "end")
            assert len(generator.prompts) == prompts
            await a.send(json.dumps({"type": "stop"}))
            await until(a, "end")
            return ready, end, events

    ready, end, events = run(go())
    assert end["finish_reason"] == "cancelled" and not [e for e in events if e["type"] == "delta"]
    last = stored(slow, ready["conversation_id"])[-1]
    assert (last.status, last.content) == ("interrupted", "")


def test_rate_limits_per_connection_and_per_customer(tiny_shop_dir, embedder):
    settings = tiny_settings(tiny_shop_dir, messages_per_minute_per_connection=3, messages_per_minute_per_customer=4)

    async def go(live):
        token = live.token("C2")
        async with websockets.connect(live.ws_url) as one:
            await hello(one, token)
            for i in range(3):
                await send_message(one, "is the oat milk vegan?", client_msg_id=f"ok-{i}")
                await until(one, "end")
            await send_message(one, client_msg_id="fourth")
            per_connection = await recv(one)
        async with websockets.connect(live.ws_url) as two:
            await hello(two, token)
            await send_message(two, "is the oat milk vegan?")
            await until(two, "end")
            await send_message(two, client_msg_id="fifth")
            per_customer = await recv(two)
        async with websockets.connect(live.ws_url) as other:
            await hello(other, live.token("C1"))
            await send_message(other, "is the oat milk vegan?")
            other_end, _ = await until(other, "end")
        return per_connection, per_customer, other_end

    with start_server(settings, generator=ScriptedGenerator(["ok"]), embedder=embedder) as live:
        per_connection, per_customer, other_end = run(go(live))
    assert (per_connection["code"], per_connection["client_msg_id"], per_connection["retryable"]) == (
        "rate_limited",
        "fourth",
        True,
    )
    assert "3 per minute" in per_connection["message"]
    assert per_customer["code"] == "rate_limited" and "4 per minute" in per_customer["message"]
    assert other_end["finish_reason"] == "stop"  # another customer is not limited by C2's messages


def test_an_idle_connection_is_closed_but_not_while_answering(tiny_shop_dir, embedder):
    settings = tiny_settings(tiny_shop_dir, idle_timeout_s=0.6, max_new_tokens=60)

    async def go(live):
        async with websockets.connect(live.ws_url) as ws:
            await hello(ws)
            started = time.monotonic()
            await send_message(ws)
            end, _ = await until(ws, "end")  # 60 steps of 20 ms: longer than the idle timeout
            answered = time.monotonic() - started
            pongs = 0
            try:
                while True:  # pings are not activity: the connection still times out
                    await ws.send(json.dumps({"type": "ping"}))
                    assert (await recv(ws))["type"] == "pong"
                    pongs += 1
                    await asyncio.sleep(0.05)
            except ConnectionClosed as exc:
                code, reason = exc.rcvd.code, exc.rcvd.reason
            return end, answered, pongs, code, reason, time.monotonic() - started

    with start_server(settings, generator=ScriptedGenerator(SLOW, delay_s=0.02), embedder=embedder) as live:
        end, answered, pongs, code, reason, total = run(go(live))
    assert end["finish_reason"] == "length" and answered > 0.6
    assert pongs >= 5
    assert (code, reason) == (1000, "idle timeout")
    assert total < answered + 0.6 + 2
