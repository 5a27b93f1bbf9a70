"""Live shopbot servers for the server and widget tests: real uvicorn on an ephemeral 127.0.0.1 port.

Use them like this:

- `live_server` (module-scoped): the demo shop in demo mode with the real bundled model, as `make demo`
  serves it. `live_server.url` is the page (`/?customer=C0001` signs in as a demo customer),
  `live_server.ws_url` the chat endpoint, `live_server.token("C0001")` mints a customer token.
- `start_server(settings, generator=...)`: a context manager for a server with its own settings, e.g.
  small limits, over any shop; pass a `ScriptedGenerator` to test protocol logic fast without the model.
- `tiny_shop_dir` (session-scoped): a folder holding the tiny two-customer shop of tests/conftest.py with
  its indexes built; `tiny_settings(tiny_shop_dir, **overrides)` makes settings for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from bot.inference.generator import GenerationStats
from bot.runtime import Runtime
from bot.settings import Settings
from tests.conftest import MODEL_CACHE, add_tiny_shop, seed_routing_index

SECRET = "test-secret-key-that-is-long-enough-for-hs256"
AGENT_KEY = "agent-key-for-tests"


class ScriptedGenerator:
    """The `Generator` protocol without a model: the same pieces for every prompt, one every `delay_s`.

    `steps` counts pieces produced and `prompts` keeps every prompt, so tests can see what the engine
    asked and when generation stopped.
    """

    def __init__(self, pieces: list[str], delay_s: float = 0.0) -> None:
        self.pieces = pieces
        self.delay_s = delay_s
        self.steps = 0
        self.prompts: list[list[dict[str, str]]] = []

    def count_tokens(self, messages) -> int:
        return sum(len(m["content"]) for m in messages) // 4 + 1

    def stream(self, messages, *, max_new_tokens=None, stats=None):
        stats = stats if stats is not None else GenerationStats()
        stats.prompt_tokens = self.count_tokens(messages)
        stats.finish_reason = "cancelled"
        self.prompts.append(list(messages))
        started = time.perf_counter()
        budget = max_new_tokens or len(self.pieces)
        try:
            for piece in self.pieces[:budget]:
                time.sleep(self.delay_s)
                self.steps += 1
                if stats.ttft_s is None:
                    stats.ttft_s = time.perf_counter() - started
                stats.completion_tokens += 1
                yield piece
            stats.finish_reason = "length" if budget < len(self.pieces) else "stop"
        finally:
            stats.total_s = time.perf_counter() - started


class ScriptedReplies(ScriptedGenerator):
    """A `ScriptedGenerator` with one script per prompt, in order (the last one repeats): a tool call, then the
    answer written once its result is in."""

    def __init__(self, *replies: list[str]) -> None:
        super().__init__(replies[0])
        self.replies = replies

    def stream(self, messages, *, max_new_tokens=None, stats=None):
        self.pieces = self.replies[min(len(self.prompts), len(self.replies) - 1)]
        return super().stream(messages, max_new_tokens=max_new_tokens, stats=stats)


@dataclass
class LiveServer:
    runtime: Runtime
    server: uvicorn.Server
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/chat"

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def ctx(self):
        return self.server.config.app.state.ctx

    def token(self, customer_id: str, ttl_minutes: int | None = None, now: float | None = None) -> str:
        return self.ctx.tokens.mint(customer_id, ttl_minutes, now=now)


@contextmanager
def start_server(
    settings: Settings, *, generator=None, embedder=None, loaded_model=None, ready=lambda r: r.status_code == 200
) -> Iterator[LiveServer]:
    """A real uvicorn serving `create_app` in a thread, ready (model and indexes loaded) when yielded.

    `ready(response)` says when the /readyz response means ready: by default a 200; a server whose remote
    engine is down on purpose answers 503 with its model and indexes ready."""
    from server.app import create_app, uvicorn_config

    runtime = Runtime(settings)
    if embedder is not None:
        runtime.embedder = embedder
    if loaded_model is not None:
        runtime.loaded_model = loaded_model
    if generator is not None:
        runtime.generator = generator
    app = create_app(runtime)
    server = uvicorn.Server(uvicorn_config(app, settings, "127.0.0.1", 0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        live = LiveServer(runtime, server, server.servers[0].sockets[0].getsockname()[1])
        deadline = time.monotonic() + 300
        while not ready(httpx.get(live.url + "readyz")):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the live server never became ready: {httpx.get(live.url + 'readyz').text}")
            time.sleep(0.05)
        yield live
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="session")
def tiny_shop_dir(tmp_path_factory, embedder) -> Path:
    from retrieval.retriever import Retriever
    from retrieval.store import Store

    folder = tmp_path_factory.mktemp("tiny_shop")
    store = Store(f"sqlite:///{folder / 'shop.db'}")
    store.create_schema()
    add_tiny_shop(store)
    Retriever.open(store, embedder, folder / "index")
    return folder


def tiny_settings(folder: Path, **overrides) -> Settings:
    values = dict(
        data_dir=folder,
        model_cache_dir=MODEL_CACHE,
        secret_key=SECRET,
        agent_api_key=AGENT_KEY,
        top_k_products=2,
        top_k_policies=1,
        max_new_tokens=64,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
def live_server(demo_dir, demo_retriever, embedder, loaded_model) -> Iterator[LiveServer]:
    """The demo shop in demo mode with the real model (answers capped at 32 tokens to keep tests quick)."""
    seed_routing_index(demo_dir)
    settings = Settings(
        data_dir=demo_dir, model_cache_dir=MODEL_CACHE, demo_mode=True, agent_api_key=AGENT_KEY, max_new_tokens=32
    )
    with start_server(settings, embedder=embedder, loaded_model=loaded_model) as live:
        yield live
