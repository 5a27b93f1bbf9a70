"""The remote backend: answers streamed from an OpenAI-compatible engine in another process (vLLM, TGI,
llama.cpp's server) over `/v1/chat/completions` with `stream: true`.

It is a `Generator` like the in-process backends, so the engine around it is unchanged: the prompt budget is
counted here (the chat model's tokenizer files alone, or the engine's tokenize endpoint), the text is yielded
as the engine sends it (a `<tool>` call is parsed by the chat engine, as with a local model), and closing the
stream closes the HTTP response, which tells the engine to stop generating. The HTTP client is synchronous:
each answer is read in its own generation worker thread.

An engine that cannot be reached, or answers too slowly, raises `EngineUnavailable` within the configured
timeouts; nothing is kept between requests but the connection pool, so the next answer works once the engine
is back.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.inference.backends import EngineUnavailable, sampling
from bot.inference.generator import GenerationStats, Messages, SamplingConfig
from bot.settings import Settings

# How long one /readyz look at the engine is believed: probes behind a load balancer arrive every second or so
HEALTH_TTL_S = 2.0
# What a refused request's body adds to the error at most
ERROR_BODY_CHARS = 300


class EngineRefused(RuntimeError):
    """The engine answered the request with a client error (4xx other than 408 and 429): sending it again will
    not help. The text names the status and the engine's own words."""


@dataclass(frozen=True)
class RemoteConfig:
    base_url: str
    model: str = ""
    api_key: str = ""
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 20.0
    retries: int = 2
    retry_delay_s: float = 0.25
    tokenize_url: str = ""
    capacity: int = 16

    @classmethod
    def from_settings(cls, s: Settings) -> RemoteConfig:
        return cls(
            base_url=s.remote_base_url,
            model=s.remote_model,
            api_key=s.remote_api_key,
            connect_timeout_s=s.remote_connect_timeout_s,
            read_timeout_s=s.remote_read_timeout_s,
            retries=s.remote_retries,
            retry_delay_s=s.remote_retry_delay_s,
            tokenize_url=s.remote_tokenize_url,
            capacity=s.max_concurrent_generations,
        )

    def longest_wait_s(self) -> float:
        """The longest an answer waits before it streams or fails: every connect try and the delays between
        them, then the wait for the first token."""
        delays = sum(self.retry_delay_s * 2**i for i in range(self.retries))
        return (self.retries + 1) * self.connect_timeout_s + delays + self.read_timeout_s


def local_tokenizer(settings: Settings):
    """The chat model's tokenizer, read from its files alone (no weights): `model_path`'s, else the bundled
    model's, from its safetensors copy if `shopbot setup` made one, else from the GGUF."""
    from transformers import AutoTokenizer

    from bot.inference.model import BUNDLED_MODEL_NAME, bundled_gguf

    if settings.model_path is not None:
        return AutoTokenizer.from_pretrained(settings.model_path, local_files_only=True)
    cached = Path(settings.model_cache_dir) / BUNDLED_MODEL_NAME
    if (cached / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(cached, local_files_only=True)
    gguf = bundled_gguf()
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)


class RemoteGenerator:
    """Streams answers from an OpenAI-compatible engine; see the module's docstring."""

    def __init__(self, config: RemoteConfig, sampling: SamplingConfig, tokenizer=None) -> None:
        """`tokenizer` counts prompt tokens unless `config.tokenize_url` is set; one of them is required."""
        if not config.tokenize_url and tokenizer is None:
            raise ValueError("the remote backend needs a local tokenizer or a tokenize_url to count prompt tokens")
        self.config = config
        self.sampling = sampling
        self.tokenizer = tokenizer
        self.base_url = config.base_url.rstrip("/")
        self.chat_url = self.base_url + "/chat/completions"
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        timeout = httpx.Timeout(config.read_timeout_s, connect=config.connect_timeout_s)
        # one connection per answer streaming at once, and one for tokenize requests
        limits = httpx.Limits(max_connections=config.capacity + 1, max_keepalive_connections=config.capacity + 1)
        self.client = httpx.Client(headers=headers, timeout=timeout, limits=limits)
        # health probes never wait behind answers in the pool, nor keep a connection open between probes
        self.probe = httpx.Client(headers=headers, timeout=timeout, limits=httpx.Limits(max_keepalive_connections=0))
        self._model = config.model
        self._lock = threading.Lock()
        self._health: tuple[float, dict] | None = None
        self.requests = 0
        self.retries = 0
        self.streams_open = 0

    # ------------------------------------------------------------------ prompt budget

    def count_tokens(self, messages: Messages) -> int:
        if not self.config.tokenize_url:
            encoded = self.tokenizer.apply_chat_template(
                list(messages), add_generation_prompt=True, tokenize=True, return_dict=True
            )
            return len(encoded["input_ids"])
        body = {"model": self.model(), "messages": list(messages), "add_generation_prompt": True}
        with self._send("POST", self.config.tokenize_url, body) as response:
            data = _json(response.read(), self.config.tokenize_url)
        if isinstance(data.get("count"), int):
            return data["count"]
        if isinstance(data.get("tokens"), list):
            return len(data["tokens"])
        raise EngineRefused(f"the engine's tokenize endpoint {self.config.tokenize_url} answered without a count")

    def model(self) -> str:
        """The model name sent to the engine: the setting, else the first the engine lists (asked once)."""
        if not self._model:
            url = self.base_url + "/models"
            with self._send("GET", url) as response:
                listed = _json(response.read(), url).get("data") or []
            if not listed or not isinstance(listed[0], dict) or not listed[0].get("id"):
                raise EngineRefused(f"the engine at {url} lists no model: set remote_model")
            self._model = str(listed[0]["id"])
        return self._model

    # ------------------------------------------------------------------ generation

    def stream(
        self, messages: Messages, *, max_new_tokens: int | None = None, stats: GenerationStats | None = None
    ) -> Iterator[str]:
        stats = stats if stats is not None else GenerationStats()
        s = self.sampling
        body = {
            "model": self.model(),
            "messages": list(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": max_new_tokens or s.max_new_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "seed": s.seed,
        }
        if s.min_new_tokens:
            body["min_tokens"] = s.min_new_tokens  # vLLM's; an engine without it ignores it or refuses it
        if s.repetition_penalty != 1.0:
            body["repetition_penalty"] = s.repetition_penalty
        started = time.perf_counter()
        stats.finish_reason = "cancelled"
        counted = usage = False
        with self._lock:
            self.requests += 1
        try:
            with self._send("POST", self.chat_url, body, stream=True) as response:
                with self._lock:
                    self.streams_open += 1
                try:
                    for chunk in self._chunks(response, started, stats):
                        if isinstance(chunk.get("usage"), dict):
                            usage = _take_usage(chunk["usage"], stats) or usage
                        for choice in chunk.get("choices") or []:
                            piece = (choice.get("delta") or {}).get("content") or ""
                            if piece:
                                if stats.ttft_s is None:
                                    stats.ttft_s = time.perf_counter() - started
                                if not usage:
                                    stats.completion_tokens += 1
                                counted = True
                                yield piece
                            if choice.get("finish_reason"):
                                stats.finish_reason = "length" if choice["finish_reason"] == "length" else "stop"
                finally:
                    with self._lock:
                        self.streams_open -= 1
            if stats.finish_reason == "cancelled":
                raise EngineUnavailable(f"the engine at {self.chat_url} ended the answer's stream without finishing it")
        finally:
            stats.total_s = time.perf_counter() - started
            if not usage and self.tokenizer is not None and (counted or stats.finish_reason != "cancelled"):
                stats.prompt_tokens = self.count_tokens(messages)

    def _chunks(self, response: httpx.Response, started: float, stats: GenerationStats) -> Iterator[dict]:
        """The stream's JSON events up to `[DONE]`. httpx's read timeout bounds each wait for bytes; the wait
        for the first token is bounded here too, since an engine may send keep-alive comments meanwhile."""
        limit = self.config.read_timeout_s
        try:
            for line in response.iter_lines():
                if stats.ttft_s is None and time.perf_counter() - started > limit:
                    raise EngineUnavailable(f"the engine at {self.chat_url} sent no token within {limit:g} s")
                if not line.startswith("data:"):
                    continue  # comments (keep-alive), event names, blank separators
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                chunk = _json(data.encode(), self.chat_url)
                if "error" in chunk:
                    raise EngineUnavailable(f"the engine at {self.chat_url} failed mid-answer: {chunk['error']}")
                yield chunk
        except httpx.TimeoutException as exc:
            raise EngineUnavailable(
                f"the engine at {self.chat_url} sent nothing for {limit:g} s (remote_read_timeout_s)"
            ) from exc
        except httpx.TransportError as exc:
            raise EngineUnavailable(f"the connection to the engine at {self.chat_url} broke: {exc}") from exc

    @contextmanager
    def _send(self, method: str, url: str, body: dict | None = None, *, stream: bool = False):
        """The engine's response to one request, retried with a growing delay while connecting fails; a 5xx,
        408 or 429 or a timeout raise `EngineUnavailable`, any other error status `EngineRefused`."""
        c = self.config
        delay = c.retry_delay_s
        for attempt in range(c.retries + 1):
            try:
                request = self.client.build_request(method, url, json=body)
                response = self.client.send(request, stream=stream)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt == c.retries:
                    raise EngineUnavailable(
                        f"the engine at {url} cannot be reached ({type(exc).__name__}, {attempt + 1} tries)"
                    ) from exc
                with self._lock:
                    self.retries += 1
                time.sleep(delay)
                delay *= 2
            except httpx.TimeoutException as exc:
                raise EngineUnavailable(
                    f"the engine at {url} did not answer within {c.read_timeout_s:g} s (remote_read_timeout_s)"
                ) from exc
            except httpx.TransportError as exc:
                raise EngineUnavailable(f"the request to the engine at {url} failed: {exc}") from exc
        try:
            if response.status_code >= 400:
                _raise_for(response, url)
            yield response
        finally:
            response.close()

    # ------------------------------------------------------------------ lifetime

    def health(self) -> dict:
        """Whether the engine answers `GET /models` now: `{"ok": bool, "error": str | None}`, looked at once every
        `HEALTH_TTL_S` at most, so frequent readiness probes do not each reach the engine."""
        now = time.monotonic()
        cached = self._health
        if cached is not None and now - cached[0] < HEALTH_TTL_S:
            return cached[1]
        url = self.base_url + "/models"
        try:
            response = self.probe.get(url)
            ok = response.status_code == 200
            result = {"ok": ok, "error": None if ok else f"GET {url} answered {response.status_code}"}
        except httpx.HTTPError as exc:
            result = {"ok": False, "error": f"GET {url} failed: {type(exc).__name__}"}
        self._health = (time.monotonic(), result)
        return result

    def status(self) -> dict:
        """Counters for /metrics: requests sent, connect retries, answers streaming now."""
        return {"requests": self.requests, "retries": self.retries, "streams_open": self.streams_open}

    def close(self) -> None:
        self.client.close()
        self.probe.close()


def _take_usage(usage: dict, stats: GenerationStats) -> bool:
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return False
    stats.prompt_tokens, stats.completion_tokens = prompt, completion
    return True


def _json(raw: bytes, url: str) -> dict:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise EngineRefused(f"the engine at {url} answered with something other than JSON: {raw[:80]!r}") from exc
    if not isinstance(data, dict):
        raise EngineRefused(f"the engine at {url} answered JSON that is not an object")
    return data


def _raise_for(response: httpx.Response, url: str) -> None:
    try:
        text = response.read().decode("utf-8", "replace")[:ERROR_BODY_CHARS]
    except httpx.HTTPError:
        text = ""
    said = f"the engine at {url} answered {response.status_code}: {text}".rstrip(": ")
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise EngineUnavailable(said)
    raise EngineRefused(said)


def open_remote(settings: Settings, _load, _owns) -> RemoteGenerator:
    """The backend's `open`: never calls the model loader, the weights live in the engine."""
    config = RemoteConfig.from_settings(settings)
    tokenizer = None if config.tokenize_url else local_tokenizer(settings)
    return RemoteGenerator(config, sampling(settings), tokenizer)
