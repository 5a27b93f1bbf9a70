"""Prometheus metrics, in a registry per app so that several apps (tests) never share counters."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from bot.runtime import GenerationStats

TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32)
RATE_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 50, 100, 200)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.ws_connections = Gauge("shopbot_ws_connections", "Open WebSocket connections", registry=r)
        self.ws_connections_total = Counter(
            "shopbot_ws_connections_opened", "WebSocket connections accepted", registry=r
        )
        self.messages = Counter("shopbot_messages", "Shopper messages received", ["channel"], registry=r)
        self.errors = Counter("shopbot_errors", "Errors sent to clients, by code", ["code"], registry=r)
        self.generations_active = Gauge("shopbot_generations_active", "Answers being generated", registry=r)
        self.generation_queue = Gauge("shopbot_generation_queue", "Answers waiting for a slot", registry=r)
        self.ttft = Histogram("shopbot_ttft_seconds", "Time to first token", buckets=TTFT_BUCKETS, registry=r)
        self.tokens_per_second = Histogram(
            "shopbot_tokens_per_second", "Decode speed per answer", buckets=RATE_BUCKETS, registry=r
        )
        self.handoffs = Counter("shopbot_handoffs", "Conversations handed to a person", registry=r)
        self.webhook_failures = Counter(
            "shopbot_webhook_failures", "Handoff webhooks given up on after their last try", registry=r
        )
        self.webhook_retries = Counter(
            "shopbot_webhook_retries", "Handoff webhook tries that failed and were retried", registry=r
        )
        self.corrections = Counter(
            "shopbot_answer_corrections",
            "Facts, markup and internal names the grounding guard changed in answers, by kind",
            ["kind"],
            registry=r,
        )
        self.feedback = Counter("shopbot_feedback", "Ratings of answers", ["rating"], registry=r)
        self.engine_requests = Counter(
            "shopbot_engine_requests",
            "Generation requests to the inference backend, by backend and outcome (ok, cancelled, unavailable, failed)",
            ["backend", "outcome"],
            registry=r,
        )
        self.engine_errors = Counter(
            "shopbot_engine_errors",
            "Generation requests that ended in an error, by backend and kind (unavailable, failed)",
            ["backend", "kind"],
            registry=r,
        )
        self.engine_seconds = Histogram(
            "shopbot_engine_seconds",
            "Time of each generation request, from sent to its last token or error, by backend",
            ["backend"],
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.engine_ttft = Histogram(
            "shopbot_engine_ttft_seconds",
            "Time to the first token of each generation request that produced one, by backend",
            ["backend"],
            buckets=TTFT_BUCKETS,
            registry=r,
        )

    def generation_ended(self, backend: str, outcome: str, stats: GenerationStats) -> None:
        """One generation request of `backend` ended (`Measured` in bot/inference/backends.py calls it)."""
        self.engine_requests.labels(backend=backend, outcome=outcome).inc()
        if outcome in ("unavailable", "failed"):
            self.engine_errors.labels(backend=backend, kind=outcome).inc()
        self.engine_seconds.labels(backend=backend).observe(stats.total_s)
        if stats.ttft_s is not None:
            self.engine_ttft.labels(backend=backend).observe(stats.ttft_s)

    def watch_engine_retries(self, backend: str, status: Callable[[], dict]) -> None:
        """Tries to reach the engine that were retried after a connection error, read from the backend at each
        scrape (0 for a backend in this process)."""
        self.registry.register(_EngineRetries(backend, status))

    def watch_prompt_tokens(self, counts: Callable[[], dict[str, int]]) -> None:
        """Prompt tokens the generator was given and those it computed, read from it at each scrape: the rest
        came from its prefix cache (the shop's facts that shoppers asking alike share)."""
        self.registry.register(_PromptTokens(counts))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _PromptTokens(Collector):
    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self.counts = counts

    def collect(self):
        counts = self.counts()
        yield CounterMetricFamily(
            "shopbot_prompt_tokens", "Prompt tokens given to the generator", value=counts.get("prompt_tokens", 0)
        )
        yield CounterMetricFamily(
            "shopbot_prompt_tokens_computed",
            "Prompt tokens computed; the rest were read from cached prefixes",
            value=counts.get("prompt_tokens_computed", 0),
        )


class _EngineRetries(Collector):
    def __init__(self, backend: str, status: Callable[[], dict]) -> None:
        self.backend = backend
        self.status = status

    def collect(self):
        family = CounterMetricFamily(
            "shopbot_engine_retries", "Engine connections retried after a connection error", labels=["backend"]
        )
        family.add_metric([self.backend], self.status().get("retries", 0))
        yield family
