"""shopbot with the remote backend in front of a real engine: llama.cpp's OpenAI-compatible server
(llama-cpp-python[server], a dev dependency) serving the bundled GGUF in its own process on 127.0.0.1,
driven through shopbot's WebSocket over the tiny shop.

These run for real wherever the dev dependencies are installed; without llama-cpp-python they fail, saying
to run `make setup`, so CI can never skip them unnoticed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import websockets

from bot.inference.remote import RemoteConfig
from retrieval.schema import MessageStatus
from server.turns import ENGINE_UNAVAILABLE
from tests.llama import free_port, silent_engine
from tests.server.conftest import LiveServer, start_server, tiny_settings

# answers long enough to be still streaming when a test stops them or kills the engine after the first delta
MAX_NEW_TOKENS = 48
# what a turn adds to the engine's own wait beyond the configured timeouts: retrieval, the prompt, the socket
MARGIN_S = 3.0
ASK = "hi! what can you help me with?"  # answered by the model, no tool


def remote_settings(folder: Path, base_url: str, **overrides):
    values = dict(
        generation="remote",
        remote_base_url=base_url,
        remote_connect_timeout_s=1.0,
        # a shop prompt's first reading takes seconds on a busy two-core machine; the timeouts' own tests set less
        remote_read_timeout_s=60.0,
        remote_retries=1,
        remote_retry_delay_s=0.1,
        max_new_tokens=MAX_NEW_TOKENS,
    )
    return tiny_settings(folder, **(values | overrides))


@pytest.fixture(scope="module")
def server(tiny_shop_dir, embedder, llama_engine) -> Iterator[LiveServer]:
    with start_server(remote_settings(tiny_shop_dir, llama_engine.base_url), embedder=embedder) as live:
        yield live


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


async def recv(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), 60))


async def until(ws, kind: str) -> list[dict]:
    """Events up to and including the first of `kind`."""
    seen = []
    while not seen or seen[-1]["type"] != kind:
        seen.append(await recv(ws))
    return seen


async def hello(ws, token: str | None = None) -> str:
    await ws.send(json.dumps({"type": "hello", "token": token}))
    ready = await recv(ws)
    assert ready["type"] == "ready", ready
    assert (await recv(ws))["type"] == "history"
    return ready["conversation_id"]


async def ask(ws, text: str) -> list[dict]:
    await ws.send(json.dumps({"type": "message", "text": text}))
    return await until(ws, "end")


def stored(live: LiveServer, conversation_id: str, customer_id: str | None = None):
    return live.ctx.conversations.messages(conversation_id, customer_id)[-1]


def deltas_of(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] == "delta"]


def engine_connections(port: int) -> list:
    """This process's open connections to the engine (the shopbot server runs in this process's threads)."""
    return [
        c
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    ]


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.05)


def test_the_engines_answer_streams_in_deltas_and_is_stored_complete(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            cid = await hello(ws)
            return cid, await ask(ws, ASK)

    cid, events = run(go())
    deltas, end = deltas_of(events), events[-1]
    assert len(deltas) >= 3 and [d["seq"] for d in deltas] == list(range(len(deltas)))
    assert end["finish_reason"] in ("stop", "length") and end["usage"]["completion_tokens"] >= len(deltas)
    assert end["usage"]["prompt_tokens"] > 50 and end["timings"]["ttft_ms"] > 0
    message = stored(server, cid)
    assert message.status == MessageStatus.complete and message.content == "".join(d["text"] for d in deltas).strip()
    metrics = httpx.get(server.url + "metrics").text
    assert 'shopbot_engine_requests_total{backend="remote",outcome="ok"}' in metrics


def test_a_question_rules_route_to_a_tool_runs_it_and_the_engine_writes_the_answer(server):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            await hello(ws, server.token("C1"))
            return await ask(ws, "what should I reorder?")

    events = run(go())
    tool = next(e for e in events if e["type"] == "tool")
    assert tool["name"] == "suggest_reorder" and tool["items"]
    assert deltas_of(events) and events[-1]["finish_reason"] in ("stop", "length")
    assert events.index(tool) < events.index(deltas_of(events)[0])


def test_a_stopped_answer_closes_the_stream_from_the_engine(server, llama_engine):
    async def go():
        async with websockets.connect(server.ws_url) as ws:
            cid = await hello(ws)
            await ws.send(json.dumps({"type": "message", "text": ASK}))
            first = await until(ws, "delta")
            streaming = len(engine_connections(llama_engine.port))
            await ws.send(json.dumps({"type": "stop"}))
            return cid, streaming, first + await until(ws, "end")

    cid, streaming, events = run(go())
    assert streaming >= 1
    assert events[-1]["finish_reason"] == "cancelled"
    assert stored(server, cid).status == MessageStatus.interrupted
    wait_for(lambda: not engine_connections(llama_engine.port), 5, "the connection to the engine closed")
    assert server.runtime.generator.status()["streams_open"] == 0


def test_the_engine_killed_mid_answer_gives_an_error_and_the_next_answer_works_once_it_is_back(server, llama_engine):
    async def killed():
        async with websockets.connect(server.ws_url) as ws:
            cid = await hello(ws)
            await ws.send(json.dumps({"type": "message", "text": ASK}))
            first = await until(ws, "delta")
            await asyncio.to_thread(llama_engine.kill)
            return cid, first + await until(ws, "end")

    async def again(cid: str):
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "hello", "conversation_id": cid}))
            await until(ws, "history")
            return await ask(ws, "do you have any pasta?")

    try:
        cid, events = run(killed())
        error = next(e for e in events if e["type"] == "error")
        assert (error["code"], error["retryable"], error["message"]) == ("internal", True, ENGINE_UNAVAILABLE)
        assert events[-1]["type"] == "end" and events[-1]["finish_reason"] == "cancelled"
        assert stored(server, cid).status == MessageStatus.interrupted
        wait_for(lambda: httpx.get(server.url + "readyz").status_code == 503, 10, "/readyz says the engine is down")
        down = httpx.get(server.url + "readyz").json()
        assert down["status"] == "engine_unavailable" and down["engine"] is False and down["engine_error"]
    finally:
        llama_engine.start()
    wait_for(lambda: httpx.get(server.url + "readyz").status_code == 200, 10, "/readyz says the engine is back")
    assert httpx.get(server.url + "readyz").json()["engine"] is True
    events = run(again(cid))
    assert deltas_of(events) and events[-1]["finish_reason"] in ("stop", "length")
    assert stored(server, cid).status == MessageStatus.complete
    metrics = httpx.get(server.url + "metrics").text
    assert 'shopbot_engine_errors_total{backend="remote",kind="unavailable"}' in metrics


def engine_down(response: httpx.Response) -> bool:
    body = response.json()
    return response.status_code == 503 and body["model"] and body["index"] and body.get("engine") is False


@pytest.mark.parametrize("engine", ["down", "slow"])
def test_an_engine_that_is_down_or_slow_gives_the_error_event_within_the_configured_timeout(
    tiny_shop_dir, embedder, engine
):
    """Down: nothing listens on its port. Slow: it accepts the connection and never answers."""
    with silent_engine() as silent_port:
        port = free_port() if engine == "down" else silent_port
        settings = remote_settings(tiny_shop_dir, f"http://127.0.0.1:{port}/v1", remote_read_timeout_s=2.0)
        longest = RemoteConfig.from_settings(settings).longest_wait_s()
        with start_server(settings, embedder=embedder, ready=engine_down) as live:

            async def go():
                async with websockets.connect(live.ws_url) as ws:
                    cid = await hello(ws)
                    started = time.monotonic()
                    events = await ask(ws, ASK)
                    return cid, time.monotonic() - started, events

            cid, elapsed, events = run(go())
            error = next(e for e in events if e["type"] == "error")
            assert (error["code"], error["retryable"], error["message"]) == ("internal", True, ENGINE_UNAVAILABLE)
            assert events[-1]["finish_reason"] == "cancelled" and not deltas_of(events)
            assert stored(live, cid).status == MessageStatus.interrupted
    assert elapsed < longest + MARGIN_S
