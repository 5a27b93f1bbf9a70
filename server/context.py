"""Everything one running server shares, created by `create_app` and kept in `app.state.ctx`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

from bot.assistant.conversations import Conversations
from bot.runtime import Runtime
from bot.settings import Settings
from server.auth import TokenError, Tokens, signing_key
from server.handoff import HandoffDesk, Webhook
from server.hub import Hub
from server.limits import ConversationLocks, GenerationSlots, RateLimiter, SharedRateLimiter, create_rate_table
from server.metrics import Metrics
from server.notify import SharedEvents, is_postgresql
from server.protocol import Customer
from server.turns import Turns

log = logging.getLogger(__name__)
# A new conversation's id, in hex, the same 32 characters as a stored id: a random part, a signature that says
# this server named it, and one that says for which shopper.
NONCE_HEX = 16
TAG_HEX = 8
Limiter = RateLimiter | SharedRateLimiter  # both count with `await admit(key)`


@dataclass
class ServerContext:
    runtime: Runtime
    settings: Settings
    tokens: Tokens
    metrics: Metrics
    hub: Hub
    slots: GenerationSlots
    locks: ConversationLocks
    customer_limiter: Limiter  # messages, per customer (or anonymous client address)
    hello_limiter: Limiter  # WebSocket hellos, per customer or client address
    feedback_limiter: Limiter  # ratings, per customer or client address
    conversation_limiter: Limiter  # new REST conversations, per customer or client address
    webhook: Webhook
    executor: ThreadPoolExecutor
    io_executor: ThreadPoolExecutor  # the event loop's default: retrieval, tools, database (asyncio.to_thread)
    conversation_key: bytes  # signs the ids of conversations not stored yet (`new_conversation_id`)
    shared_events: SharedEvents | None = None  # on PostgreSQL: other replicas' agent messages and handoffs
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
        hub = Hub()
        replicas = is_postgresql(s.database_url)  # replicas may share it: events and limits go through it

        def limiter(name: str, per_minute: int) -> Limiter:
            if replicas and s.shared_rate_limits:
                return SharedRateLimiter(name, per_minute, lambda: runtime.store)
            return RateLimiter(per_minute)

        return cls(
            runtime=runtime,
            settings=s,
            tokens=tokens,
            metrics=metrics,
            hub=hub,
            slots=slots,
            locks=ConversationLocks(),
            customer_limiter=limiter("messages", s.messages_per_minute_per_customer),
            hello_limiter=limiter("hellos", s.hellos_per_minute_per_customer),
            feedback_limiter=limiter("feedback", s.feedback_per_minute_per_customer),
            conversation_limiter=limiter("conversations", s.conversations_per_minute_per_customer),
            webhook=Webhook.from_settings(s, metrics),
            executor=ThreadPoolExecutor(
                runtime.concurrent_generations,
                thread_name_prefix="shopbot-generate",
                initializer=runtime.prepare_thread,
            ),
            # query embeddings run here: on two cores each of these threads would keep an OpenMP team of its
            # own and slow the scheduler's every step (the backend's `prepare_thread`)
            io_executor=ThreadPoolExecutor(thread_name_prefix="shopbot-io", initializer=runtime.prepare_thread),
            conversation_key=hashlib.sha256(b"shopbot conversation ids\0" + signing_key(s).encode()).digest(),
            shared_events=SharedEvents(hub, lambda: runtime.store, s.database_url, s.events_check_s)
            if replicas
            else None,
        )

    @property
    def conversations(self) -> Conversations:
        return self.runtime.engine.conversations

    @cached_property
    def handoff(self) -> HandoffDesk:
        return HandoffDesk(self.conversations, self.hub, self.webhook, self.metrics)

    @cached_property
    def turns(self) -> Turns:
        return Turns(
            self.runtime.engine,
            self.handoff,
            self.slots,
            self.locks,
            self.metrics,
            self.executor,
            names_new=self.names_new_conversation,
        )

    async def warm_up(self) -> None:
        """Recover answers a crash cut off, open the indexes and load the model before the first shopper waits
        for them (every chat and REST request waits for `ready`)."""
        try:
            loop = asyncio.get_running_loop()
            recovered = await asyncio.to_thread(Conversations(self.runtime.store).recover_interrupted)
            if recovered:
                log.warning("%d answers were cut off by a crash; they are stored as interrupted", recovered)
            if any(isinstance(limiter, SharedRateLimiter) for limiter in self.limiters):
                await asyncio.to_thread(create_rate_table, self.runtime.store)
            if self.shared_events is not None:
                await self.shared_events.start()
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

    def new_conversation_id(self, customer_id: str | None) -> str:
        """An id for a conversation that is stored only with its first message, so opening a chat writes
        nothing. The id is signed for its shopper: resuming it before it holds a message (a page reloaded at
        once) is allowed to that shopper alone, and to nobody once someone else's conversation has the id."""
        nonce = secrets.token_hex(NONCE_HEX // 2)
        return nonce + self._tag(nonce) + self._tag(nonce, customer_id)

    def new_conversation_owner(self, conversation_id: str, customer_id: str | None) -> bool | None:
        """For an id from `new_conversation_id`: whether it was named for this shopper (True) or another
        (False); None for any other id."""
        nonce = conversation_id[:NONCE_HEX]
        served, shopper = conversation_id[NONCE_HEX:-TAG_HEX], conversation_id[-TAG_HEX:]
        if len(conversation_id) != NONCE_HEX + 2 * TAG_HEX or not hmac.compare_digest(served, self._tag(nonce)):
            return None
        return hmac.compare_digest(shopper, self._tag(nonce, customer_id))

    def names_new_conversation(self, conversation_id: str, customer_id: str | None) -> bool:
        return self.new_conversation_owner(conversation_id, customer_id) is True

    def _tag(self, nonce: str, customer_id: str | None | bool = False) -> str:
        """The server's tag (no customer given) or the shopper's (`None` for an anonymous one)."""
        who = "server" if customer_id is False else f"shopper\0{customer_id or ''}"
        return hmac.new(self.conversation_key, f"{nonce}\0{who}".encode(), hashlib.sha256).hexdigest()[:TAG_HEX]

    @property
    def limiters(self) -> list[Limiter]:
        return [self.customer_limiter, self.hello_limiter, self.feedback_limiter, self.conversation_limiter]

    async def aclose(self) -> None:
        if self.shared_events is not None:
            await self.shared_events.aclose()
        await self.webhook.aclose()
        self.executor.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self.runtime.close)  # in io_executor, the loop's default: shut it down after
        self.io_executor.shutdown(wait=False, cancel_futures=True)
