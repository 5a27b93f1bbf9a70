"""Human handoff round trip, the REST API with its owner checks, the OpenAI SDK against
/v1/chat/completions, health and metrics: real server, scripted generator, real webhook receiver."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import websockets

from retrieval.store import Store
from tests.conftest import add_tiny_shop
from tests.server.conftest import AGENT_KEY, ScriptedGenerator, start_server, tiny_settings
from tests.server.test_protocol import hello, recv, run, until

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"webhook-key-for-tests-0123456789").decode()
PIECES = ["Happy", " to", " help", " with", " that", "."]
REPLAY_WINDOW_S = 5 * 60


def standard_webhook_valid(secret: str, headers, body: bytes) -> bool:
    """A receiver's check as docs/protocol.md describes it (and the Standard Webhooks libraries make it)."""
    webhook_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "0")
    if not webhook_id or abs(time.time() - int(timestamp)) > REPLAY_WINDOW_S:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.removeprefix("v1,") for s in headers.get("webhook-signature", "").split() if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, signature) for signature in offered)


def legacy_signature_valid(secret: str, headers, body: bytes) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-Shopbot-Signature", ""))


class WebhookReceiver:
    """A helpdesk stand-in on 127.0.0.1 that records each POST and whether its signatures are valid.

    `statuses` are its answers to the first POSTs, in order; after them it answers 204 (401 to a bad signature).
    `deliveries` keeps every POST as (event, webhook-id, valid, body, time it arrived).
    """

    def __init__(self, statuses: list[int] | None = None) -> None:
        received: queue.Queue = queue.Queue()
        answers = list(statuses or [])
        deliveries: list[tuple] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = standard_webhook_valid(WEBHOOK_SECRET, self.headers, body) and legacy_signature_valid(
                    WEBHOOK_SECRET, self.headers, body
                )
                event = self.headers.get("X-Shopbot-Event")
                deliveries.append((event, self.headers.get("webhook-id"), valid, json.loads(body), time.monotonic()))
                status = answers.pop(0) if answers else 204 if valid else 401
                if 200 <= status < 300:
                    received.put((event, valid, json.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.received = received
        self.deliveries = deliveries
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def next(self):
        return self.received.get(timeout=10)


@pytest.fixture(scope="module")
def receiver():
    r = WebhookReceiver()
    yield r
    r.httpd.shutdown()


@pytest.fixture(scope="module")
def server(request, tiny_shop_dir, embedder, receiver):
    """The tiny shop's server on its SQLite file, or for tests marked `on_both_stores` on PostgreSQL too."""
    settings = tiny_settings(
        tiny_shop_dir,
        handoff_webhook_url=receiver.url,
        handoff_webhook_secret=WEBHOOK_SECRET,
        **tiny_shop_database(request),
    )
    with start_server(settings, generator=ScriptedGenerator(PIECES), embedder=embedder) as live:
        yield live


def tiny_shop_database(request) -> dict[str, str]:
    """No setting for the SQLite file in the shop's folder; a new PostgreSQL database holding the tiny shop."""
    if getattr(request, "param", "sqlite") != "postgresql":
        return {}
    url = request.getfixturevalue("postgres_cluster").create_database()
    store = Store(url)
    store.create_schema()
    add_tiny_shop(store)
    store.engine.dispose()
    return {"database_url": url}


# The tests that write and read conversations, ratings and handoffs run once more on PostgreSQL.
on_both_stores = pytest.mark.parametrize("server", ["sqlite", "postgresql"], indirect=True)


def agent_post(server, path: str, key: str | None = AGENT_KEY, **body):
    headers = {"X-Agent-Key": key} if key else {}
    return httpx.post(server.url + path.lstrip("/"), json=body or None, headers=headers)


@on_both_stores
def test_handoff_round_trip(server, receiver):
    generator = server.runtime.generator

    async def shopper():
        async with websockets.connect(server.ws_url) as ws:
            ready, _ = await hello(ws, server.token("C1"))
            cid = ready["conversation_id"]
            await ws.send(
                json.dumps({"type": "message", "text": "can I talk to a real person please?", "client_msg_id": "h"})
            )
            handoff, asked = await until(ws, "handoff")
            end, _ = await until(ws, "end")
            prompts = len(generator.prompts)
            await ws.send(json.dumps({"type": "message", "text": "my parcel is damaged", "client_msg_id": "f"}))
            forwarded = await recv(ws)
            agent = await asyncio.to_thread(
                agent_post, server, f"/v1/conversations/{cid}/agent-messages", text="Hi, Sam here.", agent_name="Sam"
            )
            taken, _ = await until(ws, "handoff")
            agent_message, _ = await until(ws, "agent_message")
            silent = len(generator.prompts) == prompts
            released = await asyncio.to_thread(agent_post, server, f"/v1/conversations/{cid}/release")
            back, _ = await until(ws, "handoff")
            await ws.send(
                json.dumps({"type": "message", "text": "thanks, how much is shipping?", "client_msg_id": "b"})
            )
            bot_again, _ = await until(ws, "end")
        async with websockets.connect(server.ws_url) as ws:
            _, history = await hello(ws, server.token("C1"), cid)
        return locals()

    r = run(shopper())
    tool = next(e for e in r["asked"] if e["type"] == "tool")
    assert tool["name"] == "handoff" and tool["items"] == [{"reason": "the shopper asked for a person"}]
    assert (r["handoff"]["state"], r["handoff"]["reason"]) == ("waiting_for_agent", "the shopper asked for a person")
    assert r["end"]["finish_reason"] == "stop"  # the bot says a person will join
    assert (r["forwarded"]["type"], r["forwarded"]["state"], r["forwarded"]["client_msg_id"]) == (
        "forwarded",
        "waiting_for_agent",
        "f",
    )
    assert r["agent"].status_code == 201 and r["agent"].json()["state"] == "agent"
    assert r["taken"]["state"] == "agent"
    assert (r["agent_message"]["text"], r["agent_message"]["agent_name"]) == ("Hi, Sam here.", "Sam")
    assert r["agent_message"]["message_id"] == r["agent"].json()["message_id"]
    assert r["silent"], "the bot generated while a person held the conversation"
    assert r["released"].status_code == 200 and r["back"]["state"] == "bot"
    assert r["bot_again"]["finish_reason"] == "stop"
    roles = [(m["role"], m["text"]) for m in r["history"]["messages"]]
    assert ("user", "my parcel is damaged") in roles and ("agent", "Hi, Sam here.") in roles

    event, valid, body = receiver.next()
    assert (event, valid, body["event"]) == ("handoff_requested", True, "handoff_requested")
    assert body["conversation_id"] == r["cid"] and body["customer_id"] == "C1"
    assert body["messages"][0]["text"] == "can I talk to a real person please?"
    event, valid, body = receiver.next()
    assert (event, valid, body["text"], body["message_id"]) == (
        "shopper_message",
        True,
        "my parcel is damaged",
        r["forwarded"]["message_id"],
    )
    assert server.ctx.conversations.state(r["cid"]).value == "bot"


def test_the_agent_api_needs_the_agent_key(server):
    cid = server.ctx.runtime.engine.start("C1")
    assert agent_post(server, f"/v1/conversations/{cid}/agent-messages", key=None, text="hi").status_code == 401
    wrong = agent_post(server, f"/v1/conversations/{cid}/agent-messages", key="wrong", text="hi")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    assert agent_post(server, f"/v1/conversations/{cid}/release", key="wrong").status_code == 401
    assert agent_post(server, "/v1/conversations/nope/agent-messages", text="hi").status_code == 404
    assert server.ctx.conversations.transcript(cid) == []


def test_the_agent_api_is_off_without_a_key(tiny_shop_dir, embedder):
    with start_server(
        tiny_settings(tiny_shop_dir, agent_api_key=""), generator=ScriptedGenerator(["x"]), embedder=embedder
    ) as live:
        cid = live.ctx.runtime.engine.start(None)
        response = agent_post(live, f"/v1/conversations/{cid}/agent-messages", key="anything", text="hi")
    assert response.status_code == 403 and "SHOPBOT_AGENT_API_KEY" in response.json()["error"]["message"]


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@on_both_stores
def test_rest_chat_answers_and_continues_a_conversation(server):
    first = httpx.post(
        server.url + "v1/chat", json={"text": "do you sell oat milk?"}, headers=bearer(server.token("C1"))
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["text"] == "".join(PIECES) and body["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == len(PIECES)
    assert any(s["type"] == "product" and "Oat Milk" in s["title"] for s in body["sources"])
    again = httpx.post(
        server.url + "v1/chat",
        json={"text": "and returns?", "conversation_id": body["conversation_id"]},
        headers=bearer(server.token("C1")),
    )
    assert again.json()["conversation_id"] == body["conversation_id"]
    stolen = httpx.post(
        server.url + "v1/chat",
        json={"text": "hi", "conversation_id": body["conversation_id"]},
        headers=bearer(server.token("C2")),
    )
    assert stolen.status_code == 403 and stolen.json()["error"]["code"] == "forbidden"
    forged = httpx.post(server.url + "v1/chat", json={"text": "hi"}, headers=bearer("not-a-token"))
    assert forged.status_code == 401
    too_long = httpx.post(server.url + "v1/chat", json={"text": "x" * 2001})
    assert too_long.status_code == 413 and too_long.json()["error"]["code"] == "message_too_long"


@on_both_stores
def test_reading_a_conversation_is_for_its_owner_and_agents(server):
    answer = httpx.post(
        server.url + "v1/chat", json={"text": "how much is shipping?"}, headers=bearer(server.token("C1"))
    )
    cid = answer.json()["conversation_id"]
    url = server.url + f"v1/conversations/{cid}"
    owner = httpx.get(url, headers=bearer(server.token("C1")))
    assert owner.status_code == 200
    assert [m["role"] for m in owner.json()["messages"]] == ["user", "assistant"]
    assert owner.json()["state"] == "bot"
    assert httpx.get(url, headers=bearer(server.token("C2"))).status_code == 403
    assert httpx.get(url).status_code == 403  # anonymous
    assert httpx.get(url, headers=bearer("forged")).status_code == 401
    assert httpx.get(url, headers={"X-Agent-Key": AGENT_KEY}).json()["messages"] == owner.json()["messages"]
    assert httpx.get(url, headers={"X-Agent-Key": "wrong"}).status_code == 403
    assert httpx.get(server.url + "v1/conversations/nope", headers=bearer(server.token("C1"))).status_code == 404


@on_both_stores
def test_rest_feedback_only_on_your_own_answers(server):
    answer = httpx.post(
        server.url + "v1/chat", json={"text": "how much is shipping?"}, headers=bearer(server.token("C1"))
    )
    mid = answer.json()["message_id"]
    ok = httpx.post(
        server.url + "v1/feedback", json={"message_id": mid, "rating": "down"}, headers=bearer(server.token("C1"))
    )
    assert ok.status_code == 201 and ok.json() == {"message_id": mid, "rating": "down"}
    other = httpx.post(
        server.url + "v1/feedback", json={"message_id": mid, "rating": "up"}, headers=bearer(server.token("C2"))
    )
    assert other.status_code == 403
    anonymous = httpx.post(server.url + "v1/feedback", json={"message_id": mid, "rating": "up"})
    assert anonymous.status_code == 403
    missing = httpx.post(
        server.url + "v1/feedback", json={"message_id": 10**9, "rating": "up"}, headers=bearer(server.token("C1"))
    )
    assert missing.status_code == 404


def test_the_openai_sdk_streams_from_chat_completions(server):
    from openai import OpenAI

    client = OpenAI(base_url=server.url + "v1", api_key=server.token("C1"), max_retries=0)
    stream = client.chat.completions.create(
        model="shopbot", stream=True, messages=[{"role": "user", "content": "can you help me?"}]
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert pieces == PIECES
    assert chunks[-1].choices[0].finish_reason == "stop"

    whole = client.chat.completions.create(model="shopbot", messages=[{"role": "user", "content": "can you help me?"}])
    assert whole.choices[0].message.content == "".join(PIECES)
    assert whole.usage.completion_tokens == len(PIECES)

    anonymous = OpenAI(base_url=server.url + "v1", api_key="anonymous", max_retries=0)
    reply = anonymous.chat.completions.create(model="shopbot", messages=[{"role": "user", "content": "hello there"}])
    assert reply.choices[0].message.content == "".join(PIECES)
    forged = OpenAI(base_url=server.url + "v1", api_key="forged", max_retries=0)
    with pytest.raises(Exception) as refused:
        forged.chat.completions.create(model="shopbot", messages=[{"role": "user", "content": "hi"}])
    assert getattr(refused.value, "status_code", None) == 401


def test_health_readiness_and_metrics(server):
    assert httpx.get(server.url + "healthz").json() == {"status": "ok"}
    assert httpx.get(server.url + "readyz").json() == {"status": "ready", "model": True, "index": True}
    httpx.post(server.url + "v1/chat", json={"text": "x" * 2001})
    httpx.post(server.url + "v1/chat", json={"text": "how much is shipping?"})

    async def one_ws_answer():
        async with websockets.connect(server.ws_url) as ws:
            await hello(ws)
            await ws.send(json.dumps({"type": "message", "text": "how much is shipping?"}))
            await until(ws, "end")

    run(one_ws_answer())
    lines = httpx.get(server.url + "metrics").text.splitlines()

    def value(name: str) -> float:
        return float(next(line for line in lines if line.startswith(name + " ")).split()[-1])

    for name in (
        'shopbot_messages_total{channel="rest"}',
        'shopbot_messages_total{channel="ws"}',
        'shopbot_errors_total{code="message_too_long"}',
        "shopbot_ttft_seconds_count",
        "shopbot_tokens_per_second_count",
        "shopbot_ws_connections_opened_total",
    ):
        assert value(name) >= 1, name
    assert value("shopbot_generations_active") == 0 and value("shopbot_generation_queue") == 0
    assert value("shopbot_handoffs_total") >= 0 and value("shopbot_webhook_failures_total") == 0
    assert value("shopbot_prompt_tokens_total") == 0  # a generator without a prefix cache reports none


def test_the_demo_page_and_widget_are_served(server):
    page = httpx.get(server.url)
    assert page.status_code == 200 and f'data-endpoint="ws://127.0.0.1:{server.port}/v1/chat"' in page.text
    assert 'data-token=""' in page.text
    assert httpx.get(server.url + "?customer=C1").status_code == 403  # not in demo mode
    widget = httpx.get(server.url + "widget.js")
    assert widget.status_code == 200 and "javascript" in widget.headers["content-type"]


def test_a_failing_webhook_is_counted_and_the_chat_goes_on(tiny_shop_dir, embedder):
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    settings = tiny_settings(
        tiny_shop_dir,
        handoff_webhook_url=dead,
        handoff_webhook_secret=WEBHOOK_SECRET,
        webhook_attempts=3,
        webhook_retry_delay_s=0.05,
    )

    async def go(live):
        async with websockets.connect(live.ws_url) as ws:
            await hello(ws)
            await ws.send(json.dumps({"type": "message", "text": "I want to speak to a human"}))
            handoff, _ = await until(ws, "handoff")
            end, _ = await until(ws, "end")
            return handoff, end

    with start_server(settings, generator=ScriptedGenerator(PIECES), embedder=embedder) as live:
        handoff, end = run(go(live))
        deadline = time.monotonic() + 10
        while (live.ctx.metrics.registry.get_sample_value("shopbot_webhook_failures_total") or 0) < 1:
            assert time.monotonic() < deadline, "the failed webhook was not counted"
            time.sleep(0.05)
        retries = live.ctx.metrics.registry.get_sample_value("shopbot_webhook_retries_total")
    assert handoff["state"] == "waiting_for_agent" and end["finish_reason"] == "stop"
    assert retries == 2  # three tries in all, then given up


def test_webhook_signatures_match_the_standard_webhooks_test_vector():
    from server.handoff import signing_key, standard_signature

    key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signature = standard_signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert signing_key("plain-secret") == b"plain-secret"
    with pytest.raises(ValueError, match="SHOPBOT_HANDOFF_WEBHOOK_SECRET starts with whsec_ but the rest is not"):
        signing_key("whsec_not base64!")


def wait_for(condition, what: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_failed_webhook_is_retried_later_with_the_same_id_and_a_valid_signature(tiny_shop_dir, embedder):
    flaky = WebhookReceiver(statuses=[503, 204, 400])
    settings = tiny_settings(
        tiny_shop_dir,
        handoff_webhook_url=flaky.url,
        handoff_webhook_secret=WEBHOOK_SECRET,
        webhook_retry_delay_s=1.0,
    )
    try:
        with start_server(settings, generator=ScriptedGenerator(PIECES), embedder=embedder) as live:
            asked = httpx.post(live.url + "v1/chat", json={"text": "can I talk to a real person please?"})
            answered_at = time.monotonic()
            wait_for(lambda: len(flaky.deliveries) >= 2, "the webhook was not retried")
            forwarded = httpx.post(
                live.url + "v1/chat",
                json={"text": "my parcel is damaged", "conversation_id": asked.json()["conversation_id"]},
            )
            metric = live.ctx.metrics.registry.get_sample_value
            wait_for(
                lambda: (metric("shopbot_webhook_failures_total") or 0) >= 1, "the refused webhook was not counted"
            )
            retries = metric("shopbot_webhook_retries_total")
    finally:
        flaky.httpd.shutdown()
    assert asked.status_code == 200 and forwarded.status_code == 409
    (event, first_id, first_valid, first, _), (_, second_id, second_valid, second, arrived), shopper = flaky.deliveries
    assert event == "handoff_requested" and first_id.startswith("msg_") and first_valid
    assert (second_id, second_valid, second) == (first_id, True, first)
    assert arrived > answered_at, "the chat waited for the webhook's retry"
    assert (shopper[0], shopper[2], shopper[3]["text"]) == ("shopper_message", True, "my parcel is damaged")
    assert shopper[1] != first_id
    assert retries == 1  # a 400 is the receiver's refusal: not tried again


class CallingGenerator(ScriptedGenerator):
    """A model that first calls the handoff tool, then answers (tool_routing "model")."""

    def __init__(self) -> None:
        super().__init__(PIECES)
        self.calls = 0

    def stream(self, messages, *, max_new_tokens=None, stats=None):
        self.calls += 1
        if self.calls == 1:
            self.pieces = ['<tool>{"name": "handoff", ', '"arguments": {"reason": "parcel arrived damaged"}}</tool>']
        else:
            self.pieces = ["A", " person", " will", " join", "."]
        return super().stream(messages, max_new_tokens=max_new_tokens, stats=stats)


def test_a_tool_the_model_calls_mid_answer_reaches_the_client(tiny_shop_dir, embedder):
    async def go(live):
        async with websockets.connect(live.ws_url) as ws:
            ready, _ = await hello(ws, live.token("C1"))
            await ws.send(json.dumps({"type": "message", "text": "can you help me?"}))
            _, events = await until(ws, "end")
            return ready, events

    settings = tiny_settings(tiny_shop_dir, tool_routing="model")
    with start_server(settings, generator=CallingGenerator(), embedder=embedder) as live:
        ready, events = run(go(live))
        state = live.ctx.conversations.state(ready["conversation_id"]).value
    kinds = [e["type"] for e in events]
    assert kinds.index("tool") < kinds.index("handoff") < kinds.index("delta")
    tool = events[kinds.index("tool")]
    assert (tool["name"], tool["items"]) == ("handoff", [{"reason": "parcel arrived damaged"}])
    assert events[kinds.index("handoff")]["reason"] == "parcel arrived damaged"
    assert "".join(e["text"] for e in events if e["type"] == "delta") == "A person will join."
    assert "<tool>" not in json.dumps(events) and state == "waiting_for_agent"
