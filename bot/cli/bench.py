"""`shopbot bench`: what shoppers get from a running server, beside what a naive `generate()` would give them.

One run measures, on the same shop prompts:

1. a single stream, over a real WebSocket and in-process through the runtime's generator;
2. a concurrency sweep: N shoppers at once, each its own WebSocket connection signed in as a different
   customer, against `shopbot serve --demo` started as a subprocess on 127.0.0.1;
3. the naive reference: plain transformers `generate()`, float32, greedy, one request at a time;
4. retrieval and reorder-recommendation latency;
5. the server's memory and start-up time.

Figures are only comparable within one run on one machine: the naive reference is measured in the same
run so the ratios stay meaningful on a busy or different machine. The server and the in-process parts
run on a scratch copy of a SQLite database, so benchmark conversations never land in the shop's log.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.inference.precision import resolve as resolve_dtype
from bot.settings import Settings

# Realistic first questions of a signed-in shopper that the model answers: policy questions, a named product's
# price or stock and an order's status asked by number or as "my last order" are answered from their facts.
QUESTIONS = (
    "where is my order?",
    "is the greek yogurt in stock?",
    "which cereal is best for kids?",
    "do you sell almond milk?",
    "what should I reorder this week?",
    "what do you have for breakfast?",
    "what can I use instead of eggs in baking?",
    "do you have skim milk in a 4 litre jug?",
)
WARM_UP_QUESTION = "do you sell sourdough bread?"
RETRIEVAL_CASES = Path(__file__).resolve().parents[2] / "retrieval" / "demo" / "retrieval_cases.jsonl"
DEFAULT_LEVELS = (1, 4, 16, 32)
UNLIMITED_RATE = "1000000"


class BenchError(RuntimeError):
    """The benchmark could not run (bad option, server that would not start); the text says what to fix."""


@dataclass
class BenchOptions:
    levels: tuple[int, ...] = DEFAULT_LEVELS
    max_new_tokens: int = 128
    min_new_tokens: int = 0  # answers cannot end sooner: decode figures over answers of a known length
    single_requests: int = 3  # sequential requests at concurrency 1 (single-stream figures)
    naive_prompts: int = 8  # prompts 0..n-1 of the sweep, answered by the naive reference
    retrieval_queries: int = 50
    reorder_repeats: int = 200
    server_env: dict[str, str] = field(default_factory=dict)  # SHOPBOT_* (and other) env for server and runtime
    # set: a second server, with these on top of server_env, measured on the same prompts (the remote backend)
    remote_env: dict[str, str] = field(default_factory=dict)
    out: Path = Path("var/bench")
    ready_timeout_s: float = 300.0
    event_timeout_s: float = 600.0  # longest silence from the server while a request is open
    # what the shoppers ask, in turn; each must be one the shop's model answers (not one answered in fixed words)
    questions: tuple[str, ...] = QUESTIONS


@dataclass
class ShopPrompt:
    """One shopper's question, and the exact messages the engine builds for it (what the naive reference answers)."""

    customer_id: str
    question: str
    messages: list[dict[str, str]]
    prompt_tokens: int


def parse_levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError as exc:
        raise BenchError(
            f"--levels {text!r}: give concurrency levels as comma-separated integers, e.g. 1,4,16,32"
        ) from exc
    if not levels or levels[0] < 1:
        raise BenchError(f"--levels {text!r}: every level must be at least 1")
    return levels


def parse_env(pairs: list[str], option: str = "--server-env") -> dict[str, str]:
    """KEY=VALUE pairs; a bare settings field name (dtype=bfloat16) means its SHOPBOT_ variable."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BenchError(f"{option} {pair!r}: write KEY=VALUE, e.g. SHOPBOT_DTYPE=bfloat16")
        if key.lower() in Settings.model_fields:
            key = f"SHOPBOT_{key.upper()}"
        env[key] = value
    return env


def remote_settings(base_url: str, extra: dict[str, str]) -> dict[str, str]:
    """The remote run's env: the remote backend at `base_url`, then the caller's own settings for it."""
    if not base_url.startswith(("http://", "https://")):
        raise BenchError(f"--remote {base_url!r}: give the engine's base URL, e.g. http://127.0.0.1:8080/v1")
    return {"SHOPBOT_GENERATION": "remote", "SHOPBOT_REMOTE_BASE_URL": base_url, **extra}


@contextmanager
def overlay_env(env: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def settings_from_env(env: dict[str, str], **overrides) -> Settings:
    """Settings as a process started with `env` added to ours reads them (the server's, the runtime's)."""
    from pydantic import ValidationError

    with overlay_env(env):
        try:
            return Settings(**overrides)
        except ValidationError as exc:
            raise BenchError(f"the settings from --server-env are not valid:\n{exc}") from exc


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(np.asarray(values), q)), 4) if values else None


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


# ---------------------------------------------------------------- prompts


def shop_customers(store) -> list[str]:
    """Customers with at least one order, so "where is my order?" has an answer to find."""
    from sqlalchemy import select

    from retrieval.schema import Order

    with store.session() as s:
        ids = list(s.scalars(select(Order.customer_id).distinct().order_by(Order.customer_id)))
    if not ids:
        raise BenchError("the shop has no customers with orders: run `shopbot setup` to load the demo shop")
    return ids


def turn_messages(engine, customer_id: str, question: str) -> list[dict[str, str]]:
    """The prompt `ChatEngine.reply` builds for a new conversation, without storing a turn."""
    from bot.assistant.intents import rule_arguments, tool_for
    from bot.assistant.prompt import build_messages
    from bot.assistant.toolcall import tool_help
    from bot.assistant.tools.base import ToolSession

    s = engine.settings
    ctx = engine.gather(question, customer_id, [])
    if s.tool_routing == "model":
        ctx.tool_help = tool_help(list(engine.tools.tools.values()))
    else:
        tool = tool_for(question, engine.router)
        if tool in engine.tools.tools:
            arguments = rule_arguments(tool, question)
            ctx.tool_results.append((tool, engine.tools.call(ToolSession(customer_id, "bench"), tool, arguments)))
    messages, _ = build_messages(
        s.shop_name,
        ctx,
        [],
        question,
        count_tokens=engine.generator.count_tokens,
        max_prompt_tokens=s.max_prompt_tokens,
    )
    return messages


def shop_prompts(engine, customers: list[str], count: int, questions: tuple[str, ...] = QUESTIONS) -> list[ShopPrompt]:
    """Prompt i: customer i (cycling), question i (cycling) — the same pairing the sweep's connections use."""
    out = []
    for i in range(count):
        customer, question = customers[i % len(customers)], questions[i % len(questions)]
        messages = turn_messages(engine, customer, question)
        out.append(ShopPrompt(customer, question, messages, engine.generator.count_tokens(messages)))
    return out


# ---------------------------------------------------------------- the server subprocess


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_memory_mib(pid: int) -> dict[str, float | None]:
    """VmHWM (peak resident set) and VmRSS (resident now) of a process, in MiB."""
    fields: dict[str, float | None] = {"peak_rss_mib": None, "rss_mib": None}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return fields
    for line in lines:
        if line.startswith("VmHWM:"):
            fields["peak_rss_mib"] = round(int(line.split()[1]) / 1024, 1)
        elif line.startswith("VmRSS:"):
            fields["rss_mib"] = round(int(line.split()[1]) / 1024, 1)
    return fields


class ServerProcess:
    """`shopbot serve --demo` on a free 127.0.0.1 port, its output in a log file; `stop` always ends it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **env}
        self.log_path = log_path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.started = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/chat"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-c",
            "from bot.cli.main import app; app()",
            "serve",
            "--demo",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with open(self.log_path, "wb") as log:
            self.started = time.perf_counter()
            self.proc = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=Path.cwd(), start_new_session=True
            )

    def _log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_ready(self, timeout_s: float) -> dict[str, float]:
        """Seconds from process start until it listens (/healthz) and until the model and indexes are loaded (/readyz)."""
        import httpx

        listening = None
        deadline = self.started + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"the server exited with code {self.proc.returncode} before it was ready "
                    f"(log {self.log_path}):\n{self._log_tail()}"
                )
            now = time.perf_counter()
            if now > deadline:
                raise BenchError(
                    f"the server was not ready {timeout_s:.0f} s after start (log {self.log_path}):\n{self._log_tail()}"
                )
            try:
                if listening is None and httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    listening = time.perf_counter() - self.started
                if listening is not None:
                    ready = httpx.get(f"{self.base_url}/readyz", timeout=2)
                    if ready.status_code == 200:
                        return {
                            "listening_s": round(listening, 2),
                            "ready_s": round(time.perf_counter() - self.started, 2),
                        }
                    if ready.json().get("status") == "failed":
                        raise BenchError(
                            f"the server could not load its engine: {ready.json().get('error')} (log {self.log_path})"
                        )
            except httpx.TransportError:
                pass
            time.sleep(0.1)

    def prompt_tokens(self) -> dict[str, int]:
        """The server's prompt tokens so far, given and computed (`/metrics`): the difference is what its
        prefix cache read instead (both 0 with sequential generation)."""
        import httpx

        names = {
            "shopbot_prompt_tokens_total": "prompt_tokens",
            "shopbot_prompt_tokens_computed_total": "prompt_tokens_computed",
        }
        counts = {}
        for line in httpx.get(f"{self.base_url}/metrics", timeout=10).text.splitlines():
            name, _, value = line.partition(" ")
            if name in names:
                counts[names[name]] = int(float(value))
        return counts

    def memory(self) -> dict[str, float | None]:
        return proc_memory_mib(self.proc.pid) if self.proc is not None else {"peak_rss_mib": None, "rss_mib": None}

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """Ctrl-C first (uvicorn shuts down cleanly), then SIGTERM, then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        for sig, wait in ((signal.SIGINT, timeout_s), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                break
            try:
                return self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        return self.proc.poll()


# ---------------------------------------------------------------- WebSocket clients


@dataclass
class RequestResult:
    customer_id: str
    question: str
    sent: float = 0.0
    ended: float = 0.0
    delta_times: list[float] = field(default_factory=list)
    tokens: int = 0
    prompt_tokens: int | None = None
    finish_reason: str | None = None
    max_queue_position: int | None = None
    error: str | None = None
    server_ttft_s: float | None = None  # the server's own: from the answer's start, its facts already gathered

    @property
    def ttft_s(self) -> float | None:
        return self.delta_times[0] - self.sent if self.delta_times else None

    @property
    def gaps_s(self) -> list[float]:
        return [b - a for a, b in zip(self.delta_times, self.delta_times[1:])]

    @property
    def decode_tokens_per_s(self) -> float | None:
        span = self.delta_times[-1] - self.delta_times[0] if len(self.delta_times) > 1 else 0.0
        return (self.tokens - 1) / span if self.tokens > 1 and span > 0 else None


async def _recv(ws, timeout_s: float) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout_s))


async def _open(url: str, token: str, timeout_s: float):
    import websockets

    ws = await websockets.connect(url, ping_interval=None, max_size=None, open_timeout=timeout_s)
    try:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        while (event := await _recv(ws, timeout_s))["type"] != "history":
            if event["type"] == "error":
                raise BenchError(f"hello refused: {event['code']}: {event['message']}")
    except BaseException:
        await ws.close()
        raise
    return ws


async def _ask(ws, result: RequestResult, msg_id: str, timeout_s: float) -> RequestResult:
    result.sent = time.perf_counter()
    await ws.send(json.dumps({"type": "message", "text": result.question, "client_msg_id": msg_id}))
    deltas = 0
    while True:
        event = await _recv(ws, timeout_s)
        kind = event["type"]
        if kind == "delta":
            result.delta_times.append(time.perf_counter())
            deltas += 1
        elif kind == "queued":
            result.max_queue_position = max(result.max_queue_position or 0, int(event["position"]))
        elif kind == "end":
            result.ended = time.perf_counter()
            usage = event.get("usage") or {}
            result.tokens = int(usage.get("completion_tokens", deltas))
            result.prompt_tokens = usage.get("prompt_tokens")
            result.finish_reason = event.get("finish_reason")
            server_ttft_ms = (event.get("timings") or {}).get("ttft_ms")
            result.server_ttft_s = server_ttft_ms / 1000 if server_ttft_ms is not None else None
            if result.finish_reason == "cancelled":
                result.error = "cancelled: the server ended the answer early"
            return result
        elif kind == "error":
            result.ended = time.perf_counter()
            result.error = f"{event.get('code')}: {event.get('message')}"
            return result


async def _one(
    url: str,
    token: str,
    result: RequestResult,
    msg_id: str,
    go: asyncio.Event,
    timeout_s: float,
    connected: Callable[[], None],
) -> RequestResult:
    ws = None
    try:
        try:
            ws = await _open(url, token, timeout_s)
        finally:
            connected()
        await go.wait()
        return await _ask(ws, result, msg_id, timeout_s)
    except Exception as exc:  # any failure of one shopper is a counted error, never the end of the level
        result.ended = result.ended or time.perf_counter()
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    finally:
        if ws is not None:
            await ws.close()


async def run_wave(
    url: str, tokens: dict[str, str], prompts: list[ShopPrompt], timeout_s: float
) -> list[RequestResult]:
    """Open one connection per prompt, then send every question at once."""
    go = asyncio.Event()
    pending = len(prompts)

    def connected() -> None:
        nonlocal pending
        pending -= 1
        if pending == 0:
            go.set()

    results = [RequestResult(p.customer_id, p.question) for p in prompts]
    return await asyncio.gather(
        *[
            _one(url, tokens[p.customer_id], r, f"bench-{i}", go, timeout_s, connected)
            for i, (p, r) in enumerate(zip(prompts, results))
        ]
    )


def level_summary(level: int, results: list[RequestResult]) -> dict:
    ok = [r for r in results if r.error is None]
    sent = [r.sent for r in results if r.sent]
    ended = [r.ended for r in results if r.ended]
    wall = max(ended) - min(sent) if sent and ended else 0.0
    tokens = sum(r.tokens for r in ok)
    ttfts = [r.ttft_s for r in ok if r.ttft_s is not None]
    server_ttfts = [r.server_ttft_s for r in ok if r.server_ttft_s is not None]
    gaps = [g for r in ok for g in r.gaps_s]
    rates = [r.decode_tokens_per_s for r in ok if r.decode_tokens_per_s]
    queue = [r.max_queue_position for r in results if r.max_queue_position is not None]
    finish: dict[str, int] = {}
    for r in ok:
        finish[r.finish_reason or "?"] = finish.get(r.finish_reason or "?", 0) + 1
    return {
        "level": level,
        "requests": len(results),
        "errors": len(results) - len(ok),
        "error_samples": sorted({r.error for r in results if r.error})[:3],
        "wall_s": round(wall, 3),
        "tokens": tokens,
        "aggregate_tokens_per_s": round(tokens / wall, 2) if wall > 0 else None,
        "ttft_p50_s": percentile(ttfts, 50),
        "ttft_p95_s": percentile(ttfts, 95),
        # what the client waited beyond these is the facts' gathering and the socket
        "server_ttft_p50_s": percentile(server_ttfts, 50),
        "server_ttft_p95_s": percentile(server_ttfts, 95),
        "ttfts_s": sorted(round(t, 3) for t in ttfts),
        "decode_tokens_per_s_p50": median(rates),
        "gap_p99_s": percentile(gaps, 99),
        "gap_max_s": round(max(gaps), 4) if gaps else None,
        "max_queue_position": max(queue) if queue else 0,
        "finish_reasons": finish,
    }


# ---------------------------------------------------------------- in-process and naive generation


def in_process_stream(generator, prompts: list[ShopPrompt], max_new_tokens: int, warm_up: ShopPrompt) -> dict:
    """TTFT and decode rate through the runtime's generator, no server in between.

    The warm-up is another shopper's prompt, as on the server: a generator with a prefix cache then
    reuses the shared system prompt, never a whole measured prompt."""
    from bot.inference.generator import GenerationStats

    for _ in generator.stream(warm_up.messages, max_new_tokens=2):
        pass
    runs = []
    for p in prompts:
        stats = GenerationStats()
        started = time.perf_counter()
        first = last = None
        for piece in generator.stream(p.messages, max_new_tokens=max_new_tokens, stats=stats):
            if piece:
                last = time.perf_counter()
                first = first or last
        span = (last - first) if first and last else 0.0
        runs.append(
            {
                "ttft_s": round(first - started, 4) if first else None,
                "tokens": stats.completion_tokens,
                "decode_tokens_per_s": round((stats.completion_tokens - 1) / span, 2)
                if stats.completion_tokens > 1 and span > 0
                else None,
            }
        )
    return {
        "requests": len(runs),
        "ttft_p50_s": median([r["ttft_s"] for r in runs if r["ttft_s"] is not None]),
        "decode_tokens_per_s_p50": median([r["decode_tokens_per_s"] for r in runs if r["decode_tokens_per_s"]]),
        "tokens": [r["tokens"] for r in runs],
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


class _TokenClock:
    """A `generate()` streamer that only notes when each new token arrives (the first `put` is the prompt)."""

    def __init__(self) -> None:
        self.times: list[tuple[float, int]] = []
        self._prompt_seen = False

    def put(self, value) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        now = time.perf_counter()
        for token in value.reshape(-1).tolist():
            self.times.append((now, int(token)))

    def end(self) -> None:
        pass


def naive_reference(settings: Settings, prompts: list[ShopPrompt], max_new_tokens: int, warm_up: ShopPrompt) -> dict:
    """Plain `model.generate()`, float32, greedy, one request at a time: what a shop gets without shopbot's serving.

    Same weights as the server (a LoRA adapter merged in, which costs nothing per token) and the same
    repetition penalty, so the ratios compare serving, not models.
    """
    import torch
    from transformers import GenerationConfig

    from bot.inference.generator import end_of_turn_ids
    from bot.inference.model import load_model

    loaded = load_model(
        settings.model_path,
        settings.model_cache_dir,
        adapter_path=settings.adapter_path if settings.use_adapter else None,
        dtype="float32",
    )
    model, tokenizer = loaded.model, loaded.tokenizer
    adapter = None
    if hasattr(model, "merge_and_unload"):
        model, adapter = model.merge_and_unload(), "merged"
    model.eval()
    stop = end_of_turn_ids(model.config, tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop[0]

    def config(budget: int) -> GenerationConfig:
        return GenerationConfig(
            max_new_tokens=budget,
            min_new_tokens=min(settings.min_new_tokens, budget),
            do_sample=False,
            repetition_penalty=settings.repetition_penalty,
            eos_token_id=stop,
            pad_token_id=pad,
        )

    def answer(p: ShopPrompt, budget: int) -> dict:
        clock = _TokenClock()
        started = time.perf_counter()
        inputs = tokenizer.apply_chat_template(
            p.messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        with torch.inference_mode():
            model.generate(**inputs, generation_config=config(budget), streamer=clock)
        wall = time.perf_counter() - started
        times = [t for t, token in clock.times if token not in stop]
        tokens = len(times)
        span = times[-1] - times[0] if tokens > 1 else 0.0
        return {
            "ttft_s": round(clock.times[0][0] - started, 4) if clock.times else None,
            "tokens": tokens,
            "decode_tokens_per_s": round((tokens - 1) / span, 2) if tokens > 1 and span > 0 else None,
            "wall_s": wall,
        }

    answer(warm_up, 2)
    runs = [answer(p, max_new_tokens) for p in prompts]
    tokens, wall = sum(r["tokens"] for r in runs), sum(r["wall_s"] for r in runs)
    return {
        "model": {
            "dtype": "float32",
            "adapter": adapter,
            "decoding": "greedy",
            "repetition_penalty": settings.repetition_penalty,
            "threads": torch.get_num_threads(),
        },
        "requests": len(runs),
        "ttft_p50_s": median([r["ttft_s"] for r in runs if r["ttft_s"] is not None]),
        "decode_tokens_per_s_p50": median([r["decode_tokens_per_s"] for r in runs if r["decode_tokens_per_s"]]),
        "sequential_wall_s": round(wall, 3),
        "tokens": tokens,
        "sequential_aggregate_tokens_per_s": round(tokens / wall, 2) if wall > 0 else None,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


# ---------------------------------------------------------------- retrieval and reorder


def retrieval_queries(count: int) -> list[str]:
    queries = list(QUESTIONS)
    if RETRIEVAL_CASES.is_file():
        queries += [json.loads(line)["query"] for line in RETRIEVAL_CASES.read_text().splitlines() if line.strip()]
    return [queries[i % len(queries)] for i in range(count)]


def retrieval_latency(runtime, count: int) -> dict:
    """One product search as the engine runs it (embed the query, FAISS, BM25, fuse), and the embedding alone,
    in a fresh thread set up as the server's worker threads are (`ServerContext`): beside a batch scheduler they
    run torch on one core. On the bench's main thread, with two cores after the scheduler's OpenMP team, the same
    searches were markedly slower than in such a thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="bench-retrieval", initializer=runtime.prepare_thread) as pool:
        return pool.submit(_retrieval_latency, runtime, count).result()


def _retrieval_latency(runtime, count: int) -> dict:
    from bot.assistant.engine import MIN_SENTENCE_SIMILARITY, POLICY_SENTENCES_READ
    from retrieval.retriever import POLICY_SENTENCES

    s = runtime.settings
    retriever = runtime.retriever
    queries = retrieval_queries(count)
    retriever.search(queries[0], "products", s.top_k_products, s.min_product_similarity)
    search_ms, embed_ms, sentence_ms = [], [], []
    for q in queries:
        retriever.forget_queries()  # every timed search embeds its query
        t = time.perf_counter()
        retriever.search(q, "products", s.top_k_products, s.min_product_similarity)
        search_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        retriever.embedder.embed([q])
        embed_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        retriever.search(q, POLICY_SENTENCES, POLICY_SENTENCES_READ, MIN_SENTENCE_SIMILARITY)
        sentence_ms.append((time.perf_counter() - t) * 1000)
    return {
        "queries": len(queries),
        "search_p50_ms": percentile(search_ms, 50),
        "search_p95_ms": percentile(search_ms, 95),
        "embed_p50_ms": percentile(embed_ms, 50),
        # a policy answer's sentence search, with the policy reader's own embedding of the query where one is set
        "policy_sentences_p50_ms": percentile(sentence_ms, 50),
        "policy_sentences_p95_ms": percentile(sentence_ms, 95),
        "policy_reader": runtime.policy_reader is not None,
    }


def reorder_latency(runtime, repeats: int) -> dict:
    from bot.reorder.evaluate import bench_store
    from bot.reorder.recommend import ReorderModel

    s = runtime.settings
    model = ReorderModel.load(s.reorder_model_dir)
    try:
        result = bench_store(runtime.store, model.stats, model.ranker, None, repeats=repeats, moment=s.now())
    except ValueError as exc:
        return {"error": str(exc)}
    return {
        "customer": result["customer"],
        "orders": result["orders"],
        "repeats": repeats,
        "recommend_p50_ms": result["recommend_ms"]["p50_ms"],
        "recommend_p95_ms": result["recommend_ms"]["p95_ms"],
        "with_store_query_p50_ms": result["with_store_query_ms"]["p50_ms"],
    }


# ---------------------------------------------------------------- the whole run


def server_env(options: BenchOptions, settings: Settings, concurrency: int, database_url: str) -> dict[str, str]:
    """The server's env: the scratch database, the answer cap, room for every shopper of the largest level, no rate
    limits in the way — and the caller's --server-env on top, which wins."""
    levels_max = max(options.levels)
    env = {
        "SHOPBOT_DATABASE_URL": database_url,
        "SHOPBOT_MAX_NEW_TOKENS": str(options.max_new_tokens),
        "SHOPBOT_MIN_NEW_TOKENS": str(min(options.min_new_tokens, options.max_new_tokens)),
        "SHOPBOT_MESSAGES_PER_MINUTE_PER_CONNECTION": UNLIMITED_RATE,
        "SHOPBOT_MESSAGES_PER_MINUTE_PER_CUSTOMER": UNLIMITED_RATE,
    }
    if concurrency + settings.max_queued_generations < levels_max:
        env["SHOPBOT_MAX_QUEUED_GENERATIONS"] = str(levels_max)
    env.update(options.server_env)
    return env


def plot_sweep(result: dict, path: Path, remote: dict | None = None) -> Path:
    """Throughput and first-token time by level; with `remote`, the remote engine's run drawn beside."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = result["sweep"]
    levels = [row["level"] for row in sweep]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    server = "shopbot server" if remote is None else "in-process engine"
    left.plot(levels, [row["aggregate_tokens_per_s"] or 0 for row in sweep], "o-", color="C0", label=server)
    naive = result["naive"].get("sequential_aggregate_tokens_per_s")
    if naive:
        left.axhline(naive, color="grey", linestyle="--", label="naive generate(), sequential")
    left.set(
        xlabel="concurrent shoppers",
        ylabel="tokens/s (all streams)",
        title="aggregate throughput (all tokens / wall time)",
    )
    right.plot(levels, [row["ttft_p50_s"] or 0 for row in sweep], "o-", color="C0", label="TTFT p50")
    right.plot(levels, [row["ttft_p95_s"] or 0 for row in sweep], "s--", color="C0", label="TTFT p95")
    if remote is not None:
        other = [row["level"] for row in remote["sweep"]]
        rows = remote["sweep"]
        left.plot(other, [r["aggregate_tokens_per_s"] or 0 for r in rows], "^-", color="C1", label="remote engine")
        right.plot(other, [r["ttft_p50_s"] or 0 for r in rows], "^-", color="C1", label="remote TTFT p50")
        right.plot(other, [r["ttft_p95_s"] or 0 for r in rows], "v--", color="C1", label="remote TTFT p95")
    right.set(xlabel="concurrent shoppers", ylabel="seconds", title="time to first token")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(v) for v in levels])
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend()
    cfg = result["config"]
    fig.suptitle(
        f"shopbot bench: {cfg['max_new_tokens']} new tokens, dtype {cfg['dtype']}, "
        f"linear kernel {cfg.get('linear_kernel_used') or cfg.get('linear_kernel', 'auto')}, {cfg['concurrent_generations']} concurrent generations"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def concurrent_generations(runtime) -> int:
    """How many answers the server generates at once (the rest queue), as the server itself works it out."""
    value = getattr(runtime, "concurrent_generations", None)
    return int(value) if value is not None else runtime.settings.max_concurrent_generations


def run_bench(options: BenchOptions, log: Callable[[str], None] = lambda _: None) -> dict:
    """The whole benchmark; every figure of one run in one dict. The servers are stopped whatever happens.

    With `options.remote_env`, a second server whose backend is the remote engine is measured on the same
    prompts after the first, and the result is `{"in_process": ..., "remote": ..., "remote_vs_in_process": ...}`,
    the two sections alike key for key. The naive reference, retrieval and reorder latency do not depend on
    the backend: measured once, they stand in both sections."""
    from bot.runtime import Runtime
    from retrieval.store import scratch_copy
    from server.auth import InsecureSecret, Tokens

    started = time.perf_counter()
    options.levels = tuple(sorted({1, *options.levels}))
    base = settings_from_env(options.server_env)
    remote_base = None
    if options.remote_env:
        remote_base = settings_from_env({**options.server_env, **options.remote_env})
        check_remote_engine(remote_base)  # before minutes of in-process measuring, not after
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        log(
            f"[yellow]warning:[/] the machine is busy (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs): "
            "every figure will be low, and threads fighting for cores can make them several times lower"
        )
    with scratch_copy(base.database_url) as database_url:
        env = server_env(options, base, concurrent_generations(Runtime(base)), database_url)
        settings = settings_from_env(env, demo_mode=True)  # what the server will read
        try:
            tokens_for = Tokens(settings)
        except InsecureSecret as exc:
            raise BenchError(str(exc)) from exc
        runtime = Runtime(settings)
        # every request of the run has a prompt of its own (a prefix cache must not see a measured prompt twice);
        # the naive reference answers the first of them
        plan = SweepPlan.of(options)
        log(f"building {max(plan.total, options.naive_prompts)} shop prompts (in-process engine)")
        customers = shop_customers(runtime.store)
        prompts = shop_prompts(runtime.engine, customers, max(plan.total, options.naive_prompts), options.questions)
        warm = ShopPrompt(
            customers[-1], WARM_UP_QUESTION, turn_messages(runtime.engine, customers[-1], WARM_UP_QUESTION), 0
        )
        tokens = {c: tokens_for.mint(c) for c in {p.customer_id for p in prompts} | {warm.customer_id}}

        result = {
            "config": bench_config(options, settings, runtime),
            "prompts": prompt_summary(options, prompts, customers),
        }
        serve_and_sweep(result, options, env, plan, prompts, tokens, warm, log)
        log("single stream in-process")
        single_stream(result, runtime, prompts, options, warm)
        log(f"naive reference: generate() on {options.naive_prompts} prompts")
        result["naive"] = naive_reference(settings, prompts[: options.naive_prompts], options.max_new_tokens, warm)
        log("retrieval and reorder latency")
        result["retrieval"] = retrieval_latency(runtime, options.retrieval_queries)
        result["reorder"] = reorder_latency(runtime, options.reorder_repeats)
    result["ratios"] = naive_ratios(result)
    result["config"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    result["wall_s"] = round(time.perf_counter() - started, 1)

    remote = None
    if remote_base is not None:
        remote_started = time.perf_counter()
        with scratch_copy(base.database_url) as database_url:  # the first server's conversations left behind
            env = server_env(options, remote_base, concurrent_generations(Runtime(remote_base)), database_url)
            env.update(options.remote_env)
            settings = settings_from_env(env, demo_mode=True)
            runtime = Runtime(settings)
            remote = {
                "config": bench_config(options, settings, runtime),
                "prompts": prompt_summary(options, prompts, customers),
            }
            log(f"the same prompts through the remote engine at {settings.remote_base_url}")
            serve_and_sweep(remote, options, env, plan, prompts, tokens, warm, log)
            log("single stream through the remote generator")
            single_stream(remote, runtime, prompts, options, warm)
        for shared in ("naive", "retrieval", "reorder"):
            remote[shared] = result[shared]
        remote["ratios"] = naive_ratios(remote)
        remote["config"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
        remote["wall_s"] = round(time.perf_counter() - remote_started, 1)

    options.out.mkdir(parents=True, exist_ok=True)
    result["plot"] = str(plot_sweep(result, options.out / "sweep.png", remote))
    if remote is not None:
        remote["plot"] = result["plot"]
        result = {
            "in_process": result,
            "remote": remote,
            "remote_vs_in_process": compare_sections(result, remote),
            "wall_s": round(time.perf_counter() - started, 1),
        }
    (options.out / "bench.json").write_text(json.dumps(result, indent=2))
    return result


@dataclass
class SweepPlan:
    """How many waves each level runs and where its prompts start: 1 shopper runs `single_requests` in turn."""

    waves: dict[int, int]
    offsets: dict[int, int]
    total: int

    @classmethod
    def of(cls, options: BenchOptions) -> SweepPlan:
        waves = {level: options.single_requests if level == 1 else 1 for level in options.levels}
        offsets, total = {}, 0
        for level in options.levels:
            offsets[level], total = total, total + level * waves[level]
        return cls(waves, offsets, total)


def check_remote_engine(settings: Settings) -> None:
    """The remote engine answers `GET /models` now, or the bench says so before it measures anything."""
    import httpx

    url = settings.remote_base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {settings.remote_api_key}"} if settings.remote_api_key else {}
    try:
        response = httpx.get(url, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        raise BenchError(f"the remote engine does not answer at {url}: {type(exc).__name__}: {exc}") from exc
    if response.status_code != 200:
        raise BenchError(f"the remote engine at {url} answered {response.status_code}: {response.text[:200]}")


def bench_config(options: BenchOptions, settings: Settings, runtime) -> dict:
    remote = settings.generation == "remote"
    return {
        "levels": list(options.levels),
        "max_new_tokens": options.max_new_tokens,
        "min_new_tokens": settings.min_new_tokens,
        "single_requests": options.single_requests,
        "server_env": options.server_env,
        "remote_env": options.remote_env if remote else {},
        "backend": runtime.backend.name,
        "remote_base_url": settings.remote_base_url if remote else None,
        "remote_model": settings.remote_model if remote else None,
        "dtype": None if remote else resolve_dtype(settings.dtype),
        "adapter": settings.adapter_path if settings.use_adapter and not remote else None,
        "generation": getattr(settings, "generation", None),
        "linear_kernel": settings.linear_kernel,
        "kv_cache_dtype": settings.kv_cache_dtype,
        "concurrent_generations": concurrent_generations(runtime),
        "max_queued_generations": settings.max_queued_generations,
        "tool_routing": settings.tool_routing,
        "facts_by_intent": settings.facts_by_intent,
        "draft_tokens": settings.draft_tokens,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }


def prompt_summary(options: BenchOptions, prompts: list[ShopPrompt], customers: list[str]) -> dict:
    return {
        "count": len(prompts),
        "questions": list(options.questions),
        "customers": len(customers),
        "prompt_tokens_p50": median([p.prompt_tokens for p in prompts]),
        "prompt_tokens_max": max(p.prompt_tokens for p in prompts),
    }


def serve_and_sweep(
    result: dict,
    options: BenchOptions,
    env: dict[str, str],
    plan: SweepPlan,
    prompts: list[ShopPrompt],
    tokens: dict[str, str],
    warm: ShopPrompt,
    log: Callable[[str], None],
) -> None:
    """A server started with `env`, a warm-up request, then every level of the sweep; fills result's `server`
    and `sweep`. The server is stopped whatever happens."""
    name = "server-remote.log" if result["config"]["backend"] == "remote" else "server.log"
    server = ServerProcess(env, options.out / name)
    log(f"starting the server on 127.0.0.1:{server.port} (log {server.log_path})")
    server.start()
    try:
        result["server"] = server.wait_ready(options.ready_timeout_s)
        log(f"server ready in {result['server']['ready_s']} s; warm-up request")
        first = asyncio.run(run_wave(server.ws_url, tokens, [warm], options.event_timeout_s))[0]
        result["server"]["first_request"] = {
            "ttft_s": round(first.ttft_s, 4) if first.ttft_s else None,
            "tokens": first.tokens,
            "error": first.error,
        }
        sweep, server_prompt_tokens = [], {}
        for level in options.levels:
            log(f"level {level}: {level * plan.waves[level]} request(s)")
            results, counted = [], server.prompt_tokens()
            for w in range(plan.waves[level]):
                start = plan.offsets[level] + w * level
                wave = asyncio.run(
                    run_wave(server.ws_url, tokens, prompts[start : start + level], options.event_timeout_s)
                )
                server_prompt_tokens.update({start + i: r.prompt_tokens for i, r in enumerate(wave)})
                results += wave
            row = level_summary(level, results)
            after = server.prompt_tokens()
            for key in ("prompt_tokens", "prompt_tokens_computed"):
                row[key] = after[key] - counted[key] if key in after and key in counted else None
            memory = server.memory()
            row["server_rss_mib"], row["server_peak_rss_mib"] = memory["rss_mib"], memory["peak_rss_mib"]
            row["load_avg_1m"] = round(os.getloadavg()[0], 2)
            sweep.append(row)
            log(f"  {row['aggregate_tokens_per_s']} tokens/s, TTFT p50 {row['ttft_p50_s']} s, errors {row['errors']}")
        result["sweep"] = sweep
        memory = server.memory()
        result["server"].update(
            peak_rss_mib=memory["peak_rss_mib"], rss_after_sweep_mib=memory["rss_mib"], log=str(server.log_path)
        )
        checked = [i for i, n in server_prompt_tokens.items() if n is not None]
        result["prompts"]["server_prompt_tokens_match"] = (
            f"{sum(server_prompt_tokens[i] == prompts[i].prompt_tokens for i in checked)}/{len(checked)}"
        )
    finally:
        result.setdefault("server", {})["exit_code"] = server.stop()


def single_stream(result: dict, runtime, prompts: list[ShopPrompt], options: BenchOptions, warm: ShopPrompt) -> None:
    """The sweep's one-shopper row beside the runtime's generator streaming the same prompts with no server in
    between (for the remote backend: shopbot's HTTP client to the engine)."""
    try:
        in_process = in_process_stream(
            runtime.generator, prompts[: options.single_requests], options.max_new_tokens, warm
        )
    finally:
        runtime.close()  # a batch scheduler's thread, a remote client's connections
    # what `auto` became on this CPU, as the server's own start-up measured it the same way
    result["config"]["linear_kernel_used"] = getattr(getattr(runtime.generator, "forward", None), "kernel", None)
    one = result["sweep"][0]
    result["single_stream"] = {
        "websocket": {
            "requests": one["requests"],
            "ttft_p50_s": one["ttft_p50_s"],
            "decode_tokens_per_s_p50": one["decode_tokens_per_s_p50"],
            "errors": one["errors"],
        },
        "in_process": in_process,
    }


def naive_ratios(result: dict) -> dict:
    ws, in_process = result["single_stream"]["websocket"], result["single_stream"]["in_process"]
    naive = result["naive"]
    return {
        "single_stream_decode_vs_naive": ratio(ws["decode_tokens_per_s_p50"], naive["decode_tokens_per_s_p50"]),
        "in_process_decode_vs_naive": ratio(in_process["decode_tokens_per_s_p50"], naive["decode_tokens_per_s_p50"]),
        "naive_ttft_over_single_stream_ttft": ratio(naive["ttft_p50_s"], ws["ttft_p50_s"]),
        "aggregate_vs_naive_sequential": {
            str(row["level"]): ratio(row["aggregate_tokens_per_s"], naive["sequential_aggregate_tokens_per_s"])
            for row in result["sweep"]
        },
    }


def compare_sections(in_process: dict, remote: dict) -> dict:
    """The remote engine's figures over the in-process engine's, level by level (above 1: the remote one is
    higher; for first-token times higher is slower)."""
    rows = {row["level"]: row for row in in_process["sweep"]}
    by_level = {}
    for row in remote["sweep"]:
        local = rows.get(row["level"])
        if local is not None:
            by_level[str(row["level"])] = {
                "aggregate_tokens_per_s": ratio(row["aggregate_tokens_per_s"], local["aggregate_tokens_per_s"]),
                "ttft_p50_s": ratio(row["ttft_p50_s"], local["ttft_p50_s"]),
                "ttft_p95_s": ratio(row["ttft_p95_s"], local["ttft_p95_s"]),
            }
    a, b = in_process["single_stream"]["websocket"], remote["single_stream"]["websocket"]
    return {
        "single_stream_decode": ratio(b["decode_tokens_per_s_p50"], a["decode_tokens_per_s_p50"]),
        "single_stream_ttft": ratio(b["ttft_p50_s"], a["ttft_p50_s"]),
        "by_level": by_level,
        "server_peak_rss_mib": {
            "in_process": in_process["server"].get("peak_rss_mib"),
            "remote": remote["server"].get("peak_rss_mib"),
        },
    }


def fmt(value, unit: str = "") -> str:
    return "—" if value is None else f"{value}{unit}"


def render_tables(result: dict, console) -> None:
    """The run's tables; with a remote engine measured too, the in-process engine's tables and then the two
    engines side by side."""
    if "remote" not in result:
        render_section(result, console)
        return
    render_section(result["in_process"], console)
    render_comparison(result["in_process"], result["remote"], console)


def render_comparison(local: dict, remote: dict, console) -> None:
    from rich.table import Table

    cfg = remote["config"]
    table = Table(
        title=f"in-process ({local['config']['backend']}) vs remote engine ({cfg['remote_base_url']}"
        f"{', model ' + cfg['remote_model'] if cfg['remote_model'] else ''}), the same prompts"
    )
    for column in (
        "shoppers",
        "tokens/s",
        "remote tokens/s",
        "TTFT p50",
        "remote p50",
        "TTFT p95",
        "remote p95",
        "errors",
        "remote errors",
    ):
        table.add_column(column, justify="right")
    rows = {row["level"]: row for row in remote["sweep"]}
    for row in local["sweep"]:
        other = rows.get(row["level"], {})
        table.add_row(
            str(row["level"]),
            fmt(row["aggregate_tokens_per_s"]),
            fmt(other.get("aggregate_tokens_per_s")),
            fmt(row["ttft_p50_s"], " s"),
            fmt(other.get("ttft_p50_s"), " s"),
            fmt(row["ttft_p95_s"], " s"),
            fmt(other.get("ttft_p95_s"), " s"),
            str(row["errors"]),
            str(other.get("errors", "—")),
        )
    console.print(table)
    a, b = local["single_stream"], remote["single_stream"]
    console.print(
        f"single stream decode tokens/s over the WebSocket: {fmt(a['websocket']['decode_tokens_per_s_p50'])} "
        f"in-process, {fmt(b['websocket']['decode_tokens_per_s_p50'])} remote; the remote generator alone "
        f"{fmt(b['in_process']['decode_tokens_per_s_p50'])}, first token {fmt(b['in_process']['ttft_p50_s'], ' s')}. "
        f"Server peak RSS {fmt(local['server'].get('peak_rss_mib'), ' MiB')} in-process, "
        f"{fmt(remote['server'].get('peak_rss_mib'), ' MiB')} remote (the engine's own not counted).",
        highlight=False,
    )


def render_section(result: dict, console) -> None:
    from rich.table import Table

    ws, proc, naive, ratios = (
        result["single_stream"]["websocket"],
        result["single_stream"]["in_process"],
        result["naive"],
        result["ratios"],
    )
    single = Table(
        title=f"single stream ({result['config']['max_new_tokens']} new tokens, "
        f"~{result['prompts']['prompt_tokens_p50']:.0f}-token prompts)"
    )
    for column in ("", "server (WebSocket)", "in-process generator", "naive generate()", "server vs naive"):
        single.add_column(column, justify="left" if not column else "right")
    single.add_row(
        "TTFT p50",
        fmt(ws["ttft_p50_s"], " s"),
        fmt(proc["ttft_p50_s"], " s"),
        fmt(naive["ttft_p50_s"], " s"),
        fmt(ratios["naive_ttft_over_single_stream_ttft"], "x faster"),
    )
    single.add_row(
        "decode tokens/s",
        fmt(ws["decode_tokens_per_s_p50"]),
        fmt(proc["decode_tokens_per_s_p50"]),
        fmt(naive["decode_tokens_per_s_p50"]),
        fmt(ratios["single_stream_decode_vs_naive"], "x"),
    )
    console.print(single)

    sweep = Table(
        title=f"concurrency sweep (naive sequential: {fmt(naive['sequential_aggregate_tokens_per_s'])} tokens/s)"
    )
    for column in (
        "shoppers",
        "tokens/s",
        "vs naive",
        "TTFT p50",
        "TTFT p95",
        "server's p95",
        "gap p99",
        "errors",
        "max queue",
        "prompt computed",
        "RSS MiB",
    ):
        sweep.add_column(column, justify="right")
    for row in result["sweep"]:
        computed = (
            f"{row['prompt_tokens_computed']:,} / {row['prompt_tokens']:,}"
            if row["prompt_tokens_computed"] is not None and row["prompt_tokens"] is not None
            else "—"
        )
        sweep.add_row(
            str(row["level"]),
            fmt(row["aggregate_tokens_per_s"]),
            fmt(ratios["aggregate_vs_naive_sequential"][str(row["level"])], "x"),
            fmt(row["ttft_p50_s"], " s"),
            fmt(row["ttft_p95_s"], " s"),
            fmt(row["server_ttft_p95_s"], " s"),
            fmt(row["gap_p99_s"], " s"),
            str(row["errors"]),
            str(row["max_queue_position"]),
            computed,
            fmt(row["server_rss_mib"]),
        )
    console.print(sweep)

    other = Table(title="latency and memory")
    other.add_column("")
    other.add_column("value", justify="right")
    r, o, s = result["retrieval"], result["reorder"], result["server"]
    other.add_row("retrieval p50 / p95", f"{fmt(r['search_p50_ms'])} / {fmt(r['search_p95_ms'])} ms")
    other.add_row(
        "policy sentence search p50 / p95",
        f"{fmt(r['policy_sentences_p50_ms'])} / {fmt(r['policy_sentences_p95_ms'])} ms",
    )
    other.add_row(
        "reorder recommendation p50", fmt(o.get("recommend_p50_ms"), " ms") if "error" not in o else o["error"]
    )
    other.add_row("server ready (listening)", f"{fmt(s.get('ready_s'), ' s')} ({fmt(s.get('listening_s'), ' s')})")
    other.add_row("server peak RSS (VmHWM)", fmt(s.get("peak_rss_mib"), " MiB"))
    other.add_row("sweep plot", result["plot"])
    console.print(other)
