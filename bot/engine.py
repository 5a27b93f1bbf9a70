"""The conversation engine: one shopper turn = gather facts, build the prompt, stream the answer, keep it.

Customer identity is an argument from the authenticated session (or None for an anonymous visitor),
never something read from the shopper's or the model's text; order facts come only from
`Store.customer_orders` for that id.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bot.conversations import Conversations
from bot.generator import GenerationStats, Generator
from bot.intents import tool_for
from bot.prompt import TurnContext, build_messages
from bot.settings import Settings
from bot.tools import ToolRegistry, ToolResult, ToolSession
from retrieval.retriever import Retriever
from retrieval.schema import MessageStatus
from retrieval.store import Store

_ORDER_NUMBER = re.compile(r"\b\d{3,12}\b")
FOLLOW_UP_MAX_WORDS = 5


class MessageRejected(ValueError):
    """The shopper's message breaks a limit; the text says which and what to do."""


@dataclass
class Reply:
    """One streaming answer. `message_id` is reserved at once; iterate for text pieces; afterwards `text` and `stats` are set.

    Until iteration ends the stored message has status `streaming`; closing the iterator early stores
    the text so far as `interrupted`.
    """

    conversation_id: str
    context: TurnContext
    _pieces: Iterator[str]
    text: str = ""
    stats: GenerationStats = field(default_factory=GenerationStats)
    message_id: int | None = None
    _abandon: Callable[[], None] | None = None

    def __iter__(self) -> Iterator[str]:
        yield from self._pieces

    def close(self) -> None:
        """Give up on the answer, from the thread that iterates it; one never started is stored empty."""
        never_started = inspect.getgeneratorstate(self._pieces) == inspect.GEN_CREATED
        self._pieces.close()
        if never_started and self._abandon is not None:
            self._abandon()

    @property
    def sources(self) -> list[dict[str, str]]:
        return self.context.sources

    @property
    def tool_results(self) -> list[tuple[str, ToolResult]]:
        return self.context.tool_results


class ChatEngine:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        retriever: Retriever,
        generator: Generator,
        tools: ToolRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.retriever = retriever
        self.generator = generator
        self.tools = tools or ToolRegistry([])
        self.conversations = Conversations(store)

    def start(self, customer_id: str | None) -> str:
        if customer_id is not None and self.store.customer(customer_id) is None:
            raise PermissionError(f"unknown customer {customer_id!r}")
        return self.conversations.create(customer_id)

    def validate(self, text: str) -> str:
        text = text.strip()
        if not text:
            raise MessageRejected("the message is empty: type a question")
        if len(text) > self.settings.max_message_chars:
            raise MessageRejected(
                f"the message has {len(text)} characters; the limit is {self.settings.max_message_chars} "
                "(SHOPBOT_MAX_MESSAGE_CHARS): send a shorter message"
            )
        return text

    def gather(self, text: str, customer_id: str | None, history: list[dict[str, str]]) -> TurnContext:
        s = self.settings
        query = text
        previous_user = next((m["content"] for m in reversed(history) if m["role"] == "user"), None)
        if previous_user and len(text.split()) <= FOLLOW_UP_MAX_WORDS:
            query = f"{previous_user} {text}"
        ctx = TurnContext()
        if s.top_k_products:
            ids = [h.doc.source_id for h in self.retriever.search(query, "products", s.top_k_products)]
            by_id = self.store.products_by_id(ids)
            ctx.products = [by_id[i] for i in ids if i in by_id]
        if s.top_k_policies:
            ctx.policies = [h.doc for h in self.retriever.search(query, "policies", s.top_k_policies)]
        if customer_id is not None:
            customer = self.store.customer(customer_id)
            ctx.customer_name = customer.name if customer else customer_id
            ctx.orders = self._orders_for(customer_id, query)
        return ctx

    def _orders_for(self, customer_id: str, text: str) -> list:
        """The newest orders, plus any of the shopper's own orders named by number in the text."""
        orders = self.store.customer_orders(customer_id)
        mentioned = set(_ORDER_NUMBER.findall(text))
        named = [o for o in orders if o.id in mentioned]
        recent = [o for o in orders[: self.settings.max_orders_in_context] if o not in named]
        return (named + recent)[: max(self.settings.max_orders_in_context, len(named))]

    def reply(self, conversation_id: str, customer_id: str | None, text: str) -> Reply:
        """Start answering. Nothing is generated until the reply is iterated."""
        text = self.validate(text)
        self.conversations.check_owner(conversation_id, customer_id)
        history = self.conversations.history(conversation_id, customer_id, self.settings.max_history_messages)
        ctx = self.gather(text, customer_id, history)
        tool = tool_for(text)
        if tool in self.tools.tools:
            ctx.tool_results.append((tool, self.tools.call(ToolSession(customer_id, conversation_id), tool)))
        messages, ctx = build_messages(
            self.settings.shop_name,
            ctx,
            history,
            text,
            count_tokens=self.generator.count_tokens,
            max_prompt_tokens=self.settings.max_prompt_tokens,
        )
        self.conversations.append(conversation_id, "user", text)
        reply = Reply(conversation_id, ctx, iter(()))
        reply.message_id = self.conversations.append(conversation_id, "assistant", "", status=MessageStatus.streaming)
        reply._pieces = self._stream(reply, messages)
        reply._abandon = lambda: self._store(reply, MessageStatus.interrupted)
        return reply

    def _stream(self, reply: Reply, messages: list[dict[str, str]]) -> Iterator[str]:
        status = MessageStatus.interrupted
        try:
            for piece in self.generator.stream(messages, max_new_tokens=self.settings.max_new_tokens, stats=reply.stats):
                reply.text += piece
                yield piece
            status = MessageStatus.complete
        finally:
            self._store(reply, status)

    def _store(self, reply: Reply, status: MessageStatus) -> None:
        self.conversations.finish(
            reply.message_id,
            reply.text.strip(),
            status=status,
            meta={
                "sources": reply.sources,
                "tools": [{"name": n, "items": r.items} for n, r in reply.tool_results],
                "finish_reason": reply.stats.finish_reason if status is MessageStatus.complete else "cancelled",
                "usage": {
                    "prompt_tokens": reply.stats.prompt_tokens,
                    "completion_tokens": reply.stats.completion_tokens,
                },
            },
        )
