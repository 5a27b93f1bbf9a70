"""Everything one running server shares, created by `create_app` and kept in `app.state.ctx`."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

from bot.assistant.conversations import Conversations
from bot.runtime import Runtime
from bot.settings import Settings
from server.auth import TokenError, Tokens
from server.handoff import HandoffDesk, Webhook
from server.hub import Hub
from server.limits import ConversationLocks, GenerationSlots, RateLimiter
from server.metrics import Metrics
from server.protocol import Customer
from server.turns import Turns

log = logging.getLogger(__name__)


@dataclass
class ServerContext:
    runtime: Runtime
    settings: Settings
    tokens: Tokens
    metrics: Metrics
    hub: Hub
    slots: GenerationSlots
    locks: ConversationLocks
    customer_limiter: RateLimiter
    webhook: Webhook
    executor: ThreadPoolExecutor
    io_executor: ThreadPoolExecutor  # the event loop's default: retrieval, tools, database (asyncio.to_thread)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    index_ready: bool = False
    model_ready: bool = False
    startup_error: str | None = None

    @classmethod
    def build(cls, runtime: Runtime) -> ServerContext:
        s = runtime.settings
        tokens = Tokens(s)  # refuses an insecure secret before the model's config is read (or its GGUF converted)
        metrics = Metrics()
        slots = GenerationSlots(runtime.concurrent_generations, s.max_queued_generations)
        metrics.generations_active.set_function(lambda: slots.active)
        metrics.generation_queue.set_function(lambda: slots.queued)
        metrics.watch_prompt_tokens(runtime.generator_status)
        return cls(
            runtime=runtime,
            settings=s,
            tokens=tokens,
            metrics=metrics,
            hub=Hub(),
            slots=slots,
            locks=ConversationLocks(),
            customer_limiter=RateLimiter(s.messages_per_minute_per_customer),
            webhook=Webhook(s.handoff_webhook_url, s.handoff_webhook_secret, s.webhook_timeout_s, metrics),
            executor=ThreadPoolExecutor(
                runtime.concurrent_generations,
                thread_name_prefix="shopbot-generate",
                initializer=runtime.prepare_thread,
            ),
            # query embeddings run here: on two cores each of these threads would keep an OpenMP team of its
            # own and slow the scheduler's every step (the backend's `prepare_thread`)
            io_executor=ThreadPoolExecutor(thread_name_prefix="shopbot-io", initializer=runtime.prepare_thread),
        )

    @property
    def conversations(self) -> Conversations:
        return self.runtime.engine.conversations

    @cached_property
    def handoff(self) -> HandoffDesk:
        return HandoffDesk(self.conversations, self.hub, self.webhook, self.metrics)

    @cached_property
    def turns(self) -> Turns:
        return Turns(self.runtime.engine, self.handoff, self.slots, self.locks, self.metrics, self.executor)

    async def warm_up(self) -> None:
        """Open the indexes and load the model before the first shopper waits for them."""
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self.executor, lambda: self.runtime.retriever)
            self.index_ready = True
            await loop.run_in_executor(self.executor, lambda: self.runtime.engine.warm())
            self.runtime.release_memory()
            self.model_ready = True
        except Exception as exc:
            log.exception("shopbot could not start its engine")
            self.startup_error = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()

    async def identify(self, token: str | None) -> Customer | None:
        """The customer a token vouches for, or None for an anonymous visitor; raises TokenError."""
        if not token:
            return None
        customer_id = self.tokens.verify(token)
        customer = await asyncio.to_thread(self.runtime.store.customer, customer_id)
        if customer is None:
            raise TokenError(f"the customer token names an unknown customer {customer_id!r}")
        return Customer(id=customer.id, name=customer.name)

    def rate_key(self, customer: Customer | None, client_host: str | None) -> str:
        return f"customer:{customer.id}" if customer else f"anonymous:{client_host or 'unknown'}"

    async def aclose(self) -> None:
        await self.webhook.aclose()
        self.executor.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self.runtime.close)  # in io_executor, the loop's default: shut it down after
        self.io_executor.shutdown(wait=False, cancel_futures=True)
