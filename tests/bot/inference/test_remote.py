"""The remote backend against scripted OpenAI-compatible engines: real HTTP servers on 127.0.0.1 that answer
from a script, so each behaviour (usage, cancel, timeouts, refusals) is seen exactly. The same backend
against a real llama.cpp server: tests/server/test_remote_engine.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.inference import remote
from bot.inference.backends import EngineUnavailable, Measured, resolve
from bot.inference.generator import GenerationStats, SamplingConfig
from bot.inference.remote import EngineRefused, RemoteConfig, RemoteGenerator, local_tokenizer
from bot.settings import Settings
from tests.conftest import MODEL_CACHE
from tests.llama import free_port, silent_engine

MESSAGES = [{"role": "system", "content": "You help shoppers."}, {"role": "user", "content": "where is my order?"}]
TOOL_CALL = ["<tool>", '{"name": "lookup_order",', ' "arguments": {"order_id": "1042"}}', "</tool>"]


@dataclass
class Script:
    """What the scripted engine does: the content pieces it streams, one every `delay_s`, then a finish reason
    and a usage chunk (either may be left out); or an error `status`; or, with `cut`, the connection dropped
    after the pieces."""

    pieces: list[str] = field(default_factory=lambda: ["Hello", " there", "!"])
    delay_s: float = 0.0
    finish: str | None = "stop"
    usage: dict | None = None
    status: int = 200
    error_body: str = ""
    cut: bool = False
    models: list[str] = field(default_factory=lambda: ["smollm2-remote"])
    tokenize_count: int = 42


class Engine:
    """A scripted OpenAI-compatible engine on an ephemeral port; `requests` keeps each request's path and body,
    `disconnected` is set when a client went away while an answer was streaming."""

    def __init__(self) -> None:
        self.script = Script()
        self.requests: list[tuple[str, dict | None]] = []
        self.disconnected = threading.Event()
        self.pieces_sent = 0
        engine = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:
                engine.requests.append((self.path, None))
                if self.path == "/v1/models":
                    self._json({"object": "list", "data": [{"id": m, "object": "model"} for m in engine.script.models]})
                else:
                    self._json({"error": "no such path"}, 404)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                engine.requests.append((self.path, body))
                s = engine.script
                if s.status != 200:
                    self._json({"error": {"message": s.error_body}}, s.status)
                elif self.path == "/tokenize":
                    self._json({"count": s.tokenize_count, "max_model_len": 2048})
                else:
                    self._stream(s)

            def _json(self, data: dict, status: int = 200) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _chunk(self, payload: str) -> None:
                raw = f"data: {payload}\n\n".encode()
                self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
                self.wfile.flush()

            def _stream(self, s: Script) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                base = {"id": "c1", "object": "chat.completion.chunk", "model": "m"}
                try:
                    for piece in s.pieces:
                        time.sleep(s.delay_s)
                        delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                        self._chunk(json.dumps(base | {"choices": [delta]}))
                        engine.pieces_sent += 1
                    if s.cut:
                        self.close_connection = True
                        return
                    if s.finish:
                        self._chunk(
                            json.dumps(base | {"choices": [{"index": 0, "delta": {}, "finish_reason": s.finish}]})
                        )
                    if s.usage:
                        self._chunk(json.dumps(base | {"choices": [], "usage": s.usage}))
                    self._chunk("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    engine.disconnected.set()
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def engine() -> Iterator[Engine]:
    served = Engine()
    yield served
    served.close()


@pytest.fixture(scope="module")
def tokenizer():
    return local_tokenizer(Settings(model_cache_dir=MODEL_CACHE))


def config(base_url: str, **overrides) -> RemoteConfig:
    values = dict(base_url=base_url, connect_timeout_s=1.0, read_timeout_s=1.0, retries=2, retry_delay_s=0.05)
    return RemoteConfig(**(values | overrides))


@contextmanager
def generator_for(base_url: str, tokenizer=None, sampling: SamplingConfig | None = None, **overrides):
    made = RemoteGenerator(config(base_url, **overrides), sampling or SamplingConfig(max_new_tokens=16), tokenizer)
    try:
        yield made
    finally:
        made.close()


def test_the_answer_streams_piece_by_piece_and_a_tool_call_passes_through_unchanged(engine, tokenizer):
    engine.script = Script(pieces=TOOL_CALL)
    with generator_for(engine.base_url, tokenizer, model="my-model") as gen:
        pieces = list(gen.stream(MESSAGES, max_new_tokens=12))
    assert pieces == TOOL_CALL
    path, body = engine.requests[-1]
    assert path == "/v1/chat/completions"
    assert body["model"] == "my-model" and body["stream"] is True and body["max_tokens"] == 12
    assert body["messages"] == MESSAGES and body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.0


def test_usage_reported_by_the_engine_fills_the_stats(engine, tokenizer):
    engine.script = Script(pieces=["a", "b", "c"], finish="length", usage={"prompt_tokens": 17, "completion_tokens": 3})
    stats = GenerationStats()
    with generator_for(engine.base_url, tokenizer) as gen:
        assert "".join(gen.stream(MESSAGES, stats=stats)) == "abc"
    assert (stats.prompt_tokens, stats.completion_tokens, stats.finish_reason) == (17, 3, "length")
    assert stats.ttft_s is not None and 0 < stats.ttft_s <= stats.total_s


def test_without_a_usage_chunk_tokens_are_counted_here(engine, tokenizer):
    engine.script = Script(pieces=["Hi", " you"], usage=None)
    stats = GenerationStats()
    with generator_for(engine.base_url, tokenizer) as gen:
        list(gen.stream(MESSAGES, stats=stats))
        expected_prompt = gen.count_tokens(MESSAGES)
    assert stats.completion_tokens == 2 and stats.finish_reason == "stop"
    assert stats.prompt_tokens == expected_prompt > 10


def test_the_prompt_budget_is_counted_with_the_chat_models_tokenizer(tokenizer):
    with generator_for("http://127.0.0.1:9/v1", tokenizer) as gen:  # nothing listens: counting needs no engine
        short = gen.count_tokens(MESSAGES)
        longer = gen.count_tokens(MESSAGES + [{"role": "user", "content": "and the oat milk?"}])
    assert 10 < short < longer


def test_the_prompt_budget_can_be_counted_by_the_engines_tokenize_endpoint(engine):
    engine.script = Script(tokenize_count=321)
    url = f"http://127.0.0.1:{engine.port}/tokenize"
    with generator_for(engine.base_url, tokenize_url=url) as gen:
        assert gen.count_tokens(MESSAGES) == 321
    path, body = engine.requests[-1]
    assert path == "/tokenize" and body["messages"] == MESSAGES and body["add_generation_prompt"] is True
    assert body["model"] == "smollm2-remote"  # the engine's first listed model: remote_model was left empty


def test_without_a_model_name_the_engines_first_listed_model_is_asked_once(engine, tokenizer):
    with generator_for(engine.base_url, tokenizer) as gen:
        list(gen.stream(MESSAGES))
        list(gen.stream(MESSAGES))
    asked = [path for path, _ in engine.requests]
    assert asked == ["/v1/models", "/v1/chat/completions", "/v1/chat/completions"]
    assert engine.requests[-1][1]["model"] == "smollm2-remote"


def test_closing_the_stream_closes_the_engines_connection(engine, tokenizer):
    engine.script = Script(pieces=[f"w{i} " for i in range(400)], delay_s=0.01)
    with generator_for(engine.base_url, tokenizer, model="m") as gen:
        stats = GenerationStats()
        pieces = gen.stream(MESSAGES, stats=stats)
        first = [next(pieces) for _ in range(3)]
        pieces.close()
        assert gen.status()["streams_open"] == 0
        assert engine.disconnected.wait(5), "the engine kept writing to an open connection"
    assert first == ["w0 ", "w1 ", "w2 "] and engine.pieces_sent < 100
    assert stats.finish_reason == "cancelled"


def test_an_engine_that_is_down_raises_engine_unavailable_after_the_retries(tokenizer):
    port = free_port()
    with generator_for(f"http://127.0.0.1:{port}/v1", tokenizer, model="m", retries=2, retry_delay_s=0.05) as gen:
        started = time.monotonic()
        with pytest.raises(EngineUnavailable, match=rf"127\.0\.0\.1:{port}.*cannot be reached.*3 tries"):
            list(gen.stream(MESSAGES))
        elapsed = time.monotonic() - started
        assert gen.status()["retries"] == 2
    assert elapsed < gen.config.longest_wait_s()


def test_an_engine_that_never_answers_raises_engine_unavailable_within_the_read_timeout(tokenizer):
    with silent_engine() as port, generator_for(f"http://127.0.0.1:{port}/v1", tokenizer, model="m") as gen:
        started = time.monotonic()
        with pytest.raises(EngineUnavailable, match="did not answer within 1 s"):
            list(gen.stream(MESSAGES))
        elapsed = time.monotonic() - started
    assert gen.config.read_timeout_s <= elapsed < gen.config.connect_timeout_s + gen.config.read_timeout_s + 1


def test_an_engine_that_stalls_mid_answer_raises_engine_unavailable(engine, tokenizer):
    engine.script = Script(pieces=["one", " two", " three"], delay_s=0.8)
    with generator_for(engine.base_url, tokenizer, model="m", read_timeout_s=0.4) as gen:
        with pytest.raises(EngineUnavailable, match="sent nothing for 0.4 s"):
            list(gen.stream(MESSAGES))


def test_a_stream_cut_before_its_end_raises_engine_unavailable(engine, tokenizer):
    engine.script = Script(pieces=["part", "ial"], cut=True)
    got = []
    with generator_for(engine.base_url, tokenizer, model="m") as gen:
        with pytest.raises(EngineUnavailable):
            for piece in gen.stream(MESSAGES):
                got.append(piece)
    assert got == ["part", "ial"]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_an_engine_error_status_is_engine_unavailable(engine, tokenizer, status):
    engine.script = Script(status=status, error_body="model is loading")
    with generator_for(engine.base_url, tokenizer, model="m") as gen:
        with pytest.raises(EngineUnavailable, match=f"answered {status}.*model is loading"):
            list(gen.stream(MESSAGES))


def test_a_request_the_engine_refuses_says_why(engine, tokenizer):
    engine.script = Script(status=400, error_body="This model's maximum context length is 2048 tokens")
    with generator_for(engine.base_url, tokenizer, model="m") as gen:
        with pytest.raises(EngineRefused, match="answered 400.*maximum context length is 2048"):
            list(gen.stream(MESSAGES))


def test_the_api_key_is_sent_as_a_bearer_token(tokenizer):
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args) -> None:
            pass

        def do_GET(self) -> None:
            seen["authorization"] = self.headers.get("Authorization")
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with generator_for(f"http://127.0.0.1:{server.server_address[1]}/v1", tokenizer, api_key="sk-123") as gen:
            assert gen.health() == {"ok": True, "error": None}
    finally:
        server.shutdown()
        server.server_close()
    assert seen["authorization"] == "Bearer sk-123"


def test_health_says_whether_the_engine_answers_and_is_cached_briefly(engine, tokenizer, monkeypatch):
    monkeypatch.setattr(remote, "HEALTH_TTL_S", 1.0)
    with generator_for(engine.base_url, tokenizer) as gen:
        assert gen.health() == {"ok": True, "error": None}
        looked = time.monotonic()
        engine.close()
        assert gen.health()["ok"] is True  # the cached look
        time.sleep(max(0.0, looked + 1.0 - time.monotonic()))
        down = gen.health()
    assert down["ok"] is False and f"GET {engine.base_url}/models failed: ConnectError" == down["error"]


def test_the_remote_backend_is_chosen_by_the_generation_setting_and_never_loads_weights(engine, tmp_path):
    settings = Settings(
        data_dir=tmp_path, model_cache_dir=MODEL_CACHE, generation="remote", remote_base_url=engine.base_url
    )
    spec = resolve(settings)
    assert spec.name == "remote" and spec.capacity(settings) == settings.max_concurrent_generations

    def load():
        raise AssertionError("the remote backend loaded the model's weights")

    backend = spec.open(settings, load, lambda: False)
    try:
        assert "".join(backend.stream(MESSAGES)) == "Hello there!"
        assert backend.status()["requests"] == 1
    finally:
        backend.close()


def test_measured_reports_each_request_with_its_outcome(engine, tokenizer):
    seen = []
    with generator_for(engine.base_url, tokenizer, model="m") as gen:
        measured = Measured(gen, "remote", lambda backend, outcome, stats: seen.append((backend, outcome)))
        list(measured.stream(MESSAGES))
        pieces = measured.stream(MESSAGES)
        next(pieces)
        pieces.close()
        engine.script = Script(status=503)
        with pytest.raises(EngineUnavailable):
            list(measured.stream(MESSAGES))
        assert measured.health()["ok"] is True  # anything else is the backend's own
    assert seen == [("remote", "ok"), ("remote", "cancelled"), ("remote", "unavailable")]


def test_remote_generation_without_a_base_url_is_refused_naming_the_setting():
    with pytest.raises(ValueError, match="generation = remote needs remote_base_url"):
        Settings(generation="remote")
    with pytest.raises(ValueError, match="remote_base_url must be an http:// or https:// URL"):
        Settings(generation="remote", remote_base_url="127.0.0.1:8080/v1")
