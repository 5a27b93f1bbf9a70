"""The HTTP edge of the server: request bodies capped while they arrive, validation errors in the documented shape,
/metrics behind a token, X-Forwarded-For believed only from trusted proxies, and bearer auth declared in OpenAPI.

Real uvicorn servers on 127.0.0.1 with a scripted generator; the memory check runs the server as its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest
import websockets
from pydantic import ValidationError

from bot.settings import Settings
from tests.server.conftest import AGENT_KEY, ScriptedGenerator, start_server, tiny_settings
from tests.server.test_protocol import hello, run, until

PIECES = ["Happy", " to", " help", "."]
LIMIT = 4096
METRICS_TOKEN = "metrics-token-for-tests"
MiB = 1024 * 1024
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tiny_shop_dir, embedder):
    settings = tiny_settings(tiny_shop_dir, max_request_body_bytes=LIMIT, metrics_token=METRICS_TOKEN)
    with start_server(settings, generator=ScriptedGenerator(PIECES), embedder=embedder) as live:
        yield live


def chunks(total: int, size: int = 1024):
    """A JSON chat body of exactly `total` bytes, yielded in pieces so httpx sends it chunked."""
    head, tail = b'{"text": "', b'"}'
    filler = total - len(head) - len(tail)
    yield head
    while filler > 0:
        yield b"a" * min(size, filler)
        filler -= size
    yield tail


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "message_too_long" and error["retryable"] is False
    assert f"the limit is {limit} bytes (SHOPBOT_MAX_REQUEST_BODY_BYTES)" in error["message"]


def test_a_body_over_the_limit_is_refused_with_413_streamed_or_declared(server):
    url = server.url + "v1/chat"
    assert_too_large(httpx.post(url, content=chunks(LIMIT + 1)), LIMIT)
    assert_too_large(httpx.post(url, content=b"x" * (LIMIT + 1), headers={"Content-Type": "application/json"}), LIMIT)
    declared = httpx.post(url, content=chunks(LIMIT + 1), headers={"Content-Length": str(LIMIT + 1)})
    assert_too_large(declared, LIMIT)
    completions = server.url + "v1/chat/completions"
    assert_too_large(httpx.post(completions, content=chunks(LIMIT * 3)), LIMIT)
    agent = httpx.post(
        server.url + "v1/conversations/any/agent-messages",
        content=chunks(LIMIT * 2),
        headers={"X-Agent-Key": AGENT_KEY, "Content-Type": "application/json"},
    )
    assert_too_large(agent, LIMIT)
    within = httpx.post(url, content=chunks(1500), headers={"Content-Type": "application/json"})
    assert within.status_code == 200 and within.json()["text"] == "".join(PIECES)
    count = server.ctx.metrics.registry.get_sample_value("shopbot_errors_total", {"code": "message_too_long"})
    assert count >= 5


def test_websocket_frames_are_held_to_the_frame_limit_not_the_body_limit(server):
    text = "é" * 1999  # 1999 characters, about 12 KB of JSON: over the body limit, under max_frame_bytes

    async def go():
        async with websockets.connect(server.ws_url) as ws:
            await hello(ws)
            frame = json.dumps({"type": "message", "text": text})
            await ws.send(frame)
            end, events = await until(ws, "end")
            return len(frame.encode()), end, events

    size, end, events = run(go())
    assert size > LIMIT
    assert end["finish_reason"] == "stop" and not [e for e in events if e["type"] == "error"]


SERVER_PROCESS = """
import socket, sys
from pathlib import Path

import uvicorn

from bot.runtime import Runtime
from server.app import create_app, uvicorn_config
from tests.server.conftest import ScriptedGenerator, tiny_settings

settings = tiny_settings(Path(sys.argv[1]))
runtime = Runtime(settings)
runtime.generator = ScriptedGenerator(["Happy", " to", " help", "."])
app = create_app(runtime)
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn_config(app, settings, log_level="warning")).run(sockets=[sock])
"""


@pytest.fixture(scope="module")
def server_process(tiny_shop_dir):
    """`create_app` under uvicorn in a process of its own, with the default settings' body limit."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env = {k: v for k, v in env.items() if not k.startswith("SHOPBOT_")}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER_PROCESS, str(tiny_shop_dir)], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{int(process.stdout.readline())}/"
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(url + "readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the server process did not become ready"
            time.sleep(0.1)
        yield process, url
    finally:
        process.terminate()
        process.wait(30)


class PeakRss:
    """The most resident memory a process had while this sampler ran."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.002)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._done.set()
        self._thread.join()


def test_fifty_mib_posts_are_refused_without_the_server_process_growing(server_process):
    process, url = server_process
    limit = Settings.model_fields["max_request_body_bytes"].default
    big = 50 * MiB
    with httpx.Client(timeout=120) as client:
        warm = client.post(url + "v1/chat", json={"text": "how much is shipping?"})
        assert warm.status_code == 200, warm.text
        assert_too_large(client.post(url + "v1/chat", content=chunks(limit + 1)), limit)
        before = psutil.Process(process.pid).memory_info().rss
        with PeakRss(process.pid) as rss:
            for path in ("v1/chat", "v1/chat/completions"):
                for declared in (False, True, False, True, False, True):
                    headers = {"Content-Type": "application/json"}
                    if declared:
                        headers["Content-Length"] = str(big)
                    response = client.post(url + path, content=chunks(big, 256 * 1024), headers=headers)
                    assert_too_large(response, limit)
        after = client.post(url + "v1/chat", json={"text": "and returns?"})
    assert after.status_code == 200
    assert rss.peak - before < 10 * MiB, f"the server grew by {(rss.peak - before) / MiB:.1f} MiB"


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("v1/chat", None, 422, "body: a JSON object is required"),
        ("v1/chat", {"conversation_id": "c"}, 422, "text: field required"),
        ("v1/chat", {"text": 42}, 422, "text: input should be a valid string"),
        ("v1/feedback", {"message_id": 1, "rating": "meh"}, 422, "rating: input should be 'up' or 'down'"),
        # the OpenAI route answers an invalid request with 400, as OpenAI does
        ("v1/chat/completions", {"model": "shopbot"}, 400, "messages: field required"),
        ("v1/chat/completions", {"messages": [{"content": "hi"}]}, 400, "messages[0].role: field required"),
    ],
)
def test_an_invalid_body_gets_bad_frame_naming_the_field(server, path, body, status, message):
    response = httpx.post(server.url + path, json=body)
    assert response.status_code == status, response.text
    assert response.json() == {"error": {"code": "bad_frame", "message": message, "retryable": False}}


def test_malformed_json_gets_bad_frame(server):
    response = httpx.post(
        server.url + "v1/chat", content=b'{"text": "hi"', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "bad_frame" and error["message"].startswith("body: not valid JSON (")
    agent = httpx.post(
        server.url + "v1/conversations/any/agent-messages", json={"text": ""}, headers={"X-Agent-Key": AGENT_KEY}
    )
    assert agent.json()["error"] == {
        "code": "bad_frame",
        "message": "text: string should have at least 1 character",
        "retryable": False,
    }


def test_metrics_with_a_token_need_it_as_a_bearer(server):
    url = server.url + "metrics"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN}):
        refused = httpx.get(url, headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        error = refused.json()["error"]
        assert error["code"] == "unauthorized" and error["retryable"] is False
        assert "SHOPBOT_METRICS_TOKEN" in error["message"]
    allowed = httpx.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert allowed.status_code == 200 and "shopbot_messages_total" in allowed.text


def test_openapi_declares_bearer_auth_on_the_chat_routes(server):
    spec = httpx.get(server.url + "openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    name, scheme = next((n, s) for n, s in schemes.items() if s.get("scheme", "").lower() == "bearer")
    assert scheme["type"] == "http"
    for path in ("/v1/chat", "/v1/chat/completions", "/v1/feedback"):
        operation = spec["paths"][path]["post"]
        assert {name: []} in operation["security"], path
        assert "authorization" not in [p["name"].lower() for p in operation.get("parameters", [])], path
    anonymous = httpx.post(server.url + "v1/chat", json={"text": "hello"})
    assert anonymous.status_code == 200
    not_bearer = httpx.post(server.url + "v1/chat", json={"text": "hello"}, headers={"Authorization": "Basic abc"})
    assert not_bearer.status_code == 401  # a token in another scheme is refused, not taken for anonymous


def ask(live, forwarded_for: str) -> httpx.Response:
    return httpx.post(live.url + "v1/chat", json={"text": "hello there"}, headers={"X-Forwarded-For": forwarded_for})


def test_without_trusted_proxies_x_forwarded_for_is_ignored(tiny_shop_dir, embedder):
    settings = tiny_settings(tiny_shop_dir, messages_per_minute_per_customer=1)
    with start_server(settings, generator=ScriptedGenerator(PIECES), embedder=embedder) as live:
        first = ask(live, "203.0.113.1")
        second = ask(live, "203.0.113.2")
        metrics = httpx.get(live.url + "metrics")
    assert first.status_code == 200
    assert second.status_code == 429 and second.json()["error"]["code"] == "rate_limited"
    assert metrics.status_code == 200  # no metrics_token: public


def test_a_trusted_proxy_names_the_client(tiny_shop_dir, embedder):
    settings = tiny_settings(tiny_shop_dir, messages_per_minute_per_customer=1, trusted_proxies=["127.0.0.0/8"])
    with start_server(settings, generator=ScriptedGenerator(PIECES), embedder=embedder) as live:
        first = ask(live, "203.0.113.1")
        second = ask(live, "203.0.113.2")
        again = ask(live, "203.0.113.1")
    assert (first.status_code, second.status_code, again.status_code) == (200, 200, 429)


def test_trusted_proxies_must_be_addresses_or_networks():
    assert Settings(trusted_proxies=["10.0.0.0/8", "192.168.1.7", "::1"]).trusted_proxies[0] == "10.0.0.0/8"
    with pytest.raises(ValidationError, match="'proxy.example' is not an IP address or CIDR network"):
        Settings(trusted_proxies=["proxy.example"])
