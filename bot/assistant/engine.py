"""The conversation engine: one shopper turn = gather facts, build the prompt, stream the answer, keep it.

Customer identity is an argument from the authenticated session (or None for an anonymous visitor),
never something read from the shopper's or the model's text; order facts come only from
`Store.customer_orders` for that id.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bot.assistant.conversations import Conversations
from bot.inference.generator import GenerationStats, Generator
from bot.assistant.intents import FACT_KINDS, ORDERS, POLICIES, PRODUCTS, IntentRouter, rule_arguments, tool_for
from bot.assistant.prompt import TurnContext, build_messages
from bot.settings import Settings
from bot.assistant.toolcall import MalformedCall, Shape, ToolFailure, call_complete, parse_call, shape_of, tool_help
from bot.assistant.tools.base import ToolError, ToolRegistry, ToolResult, ToolSession
from retrieval.lexical import naming, tokenize, uses_phrase
from retrieval.retriever import Retriever
from retrieval.schema import MessageStatus
from retrieval.store import Store

_ORDER_NUMBER = re.compile(r"\b\d{3,12}\b")
_ABOUT_ORDERS = re.compile(r"order|#|track|package|parcel|deliver|ship|refund", re.IGNORECASE)
# The sign-in gate also needs the shopper to speak of something of theirs: "how much is shipping?" and
# "tell me about your delivery options" read close to order phrasings to the router but are policy questions.
_THEIR_OWN = re.compile(r"\b(my|mine|i ordered|i've ordered|i placed)\b|#\s?\d{3,}|\border \d{3,}", re.IGNORECASE)
# "is the feta in stock? I'm vegan" asks more than the tags answer: such a turn goes to the model (with the tags' verdict)
_ASKS_MORE = re.compile(r"how much|price|cost|stock|availab|deliver|ship|order|recommend|suggest|instead", re.IGNORECASE)
MAX_FOREIGN_ORDERS = 3
FOLLOW_UP_MAX_WORDS = 5
TOOL_FALLBACK_ANSWER = "Sorry, I couldn't finish that request. Would you like me to connect you with a person?"
# The answer an anonymous visitor's order question gets (settings.sign_in_gate); the adapter learns it too.
SIGN_IN_ANSWER = "You're not signed in, so I can't see any orders. Please sign in and ask again."


def _listing(words: list[str], last: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def attribute_answer(products: list, asked_tags: list[tuple[str, str]]) -> str:
    """The catalog's answer to "is the X vegan?": a dietary or allergen claim is only ever what the tags say.

    One sentence per asked product; look-alikes the question names equally (the 2 L and 4 L Whole Milk)
    are told apart by brand and size.
    """
    by_id = {p.id: p for p in products}
    asked: dict[str, list[str]] = {}
    for product_id, tag in asked_tags:
        if product_id in by_id:
            asked.setdefault(product_id, []).append(tag)
    sentences = []
    for product_id, tags in asked.items():
        p = by_id[product_id]
        name = p.name if len(asked) == 1 else " ".join(filter(None, [p.brand, p.name, f"({p.size})" if p.size else None]))
        has = [t for t in tags if t in p.tag_list]
        lacks = [t for t in tags if t not in p.tag_list]
        if not lacks:
            sentences.append(f"Yes, the {name} is {_listing(has, 'and')}.")
        elif not has:
            sentences.append(f"The {name} is not listed as {_listing(lacks, 'or')}, so I can't confirm that.")
        else:
            sentences.append(f"The {name} is {_listing(has, 'and')}, but it is not listed as {_listing(lacks, 'or')}.")
    return " ".join(sentences)


def require_customer(store: Store, customer_id: str | None) -> None:
    """A session names a customer the shop knows, or none (an anonymous visitor)."""
    if customer_id is not None and store.customer(customer_id) is None:
        raise PermissionError(f"unknown customer {customer_id!r}")


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
        """Results shown to the shopper, in call order; refused calls (ToolFailure) only ever reach the model."""
        return [(n, r) for n, r in self.context.tool_results if not isinstance(r, ToolFailure)]


@dataclass
class _Turn:
    """What a turn's prompt is rebuilt from after each tool call."""

    session: ToolSession
    context: TurnContext
    history: list[dict[str, str]]
    text: str
    model_calls_allowed: int


class ChatEngine:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        retriever: Retriever,
        generator: Generator,
        tools: ToolRegistry | None = None,
        router: IntentRouter | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.retriever = retriever
        self.generator = generator
        self.tools = tools or ToolRegistry([])
        self.router = router
        self.conversations = Conversations(store)

    def start(self, customer_id: str | None) -> str:
        require_customer(self.store, customer_id)
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
        kinds = self._fact_kinds(text)
        vector = self.retriever.embed(query) if s.top_k_products or s.top_k_policies else None
        if s.top_k_products and PRODUCTS in kinds:
            hits = self.retriever.search(query, "products", s.top_k_products, s.min_product_similarity, vector=vector)
            ids = [h.doc.source_id for h in hits]
            by_id = self.store.products_by_id(ids)
            ctx.products = [by_id[i] for i in ids if i in by_id]
            ctx.asked_tags = self._tags_asked(text, query, ctx.products)
        if s.top_k_policies and POLICIES in kinds:
            ctx.policies = [h.doc for h in self.retriever.search(query, "policies", s.top_k_policies,
                                                                      s.min_policy_similarity, vector=vector)]
        if customer_id is not None:
            customer = self.store.customer(customer_id)
            ctx.customer_name = customer.name if customer else customer_id
            orders = self._orders_for(customer_id, query)
            ctx.asked_orders, ctx.foreign_orders = self._numbers_asked(text, orders)
            if ORDERS in kinds or ctx.asked_orders or ctx.foreign_orders:
                ctx.orders = orders
            else:
                ctx.orders_left_out = True
        return ctx

    def _fact_kinds(self, text: str) -> frozenset[str]:
        """What the message may need: with `facts_by_intent`, the kinds the router does not rule out; a
        conversation's follow-up ("and the 2 L one?") reads as a follow-up intent, which needs them all."""
        if not self.settings.facts_by_intent or self.router is None:
            return FACT_KINDS
        return self.router.fact_kinds(text)

    def _tags_asked(self, text: str, query: str, products: list) -> list[tuple[str, str]]:
        """(product, tag) for each tag the message names about the product it names most fully; a short
        follow-up ("is it vegan?") asks about the product its search query (with the question before) names.

        With `attribute_answers=catalog` these turns are answered from the tags (`attribute_answer`); for
        the model the verdict is stated in its prompt. 48 attribute questions outside the eval set (half
        about a tag the product carries): the tuned model alone 20/24 and 5/24 right, with the verdict in
        its prompt 24/24 and 9/24 (it says "yes" regardless), from the catalog 48/48.
        """
        words = tokenize(text)
        named, best = self._named(set(words), products)
        if not best and query != text:
            named, best = self._named(set(tokenize(query)), products)
        if not best:
            return []
        tags = sorted(t for t in self.store.product_tags() if uses_phrase(words, t))
        asked = []
        for p in products:
            if named[p.id] == best:
                own = set(tokenize(f"{p.name} {p.brand or ''}"))  # "Gluten-Free Crackers" names, not asks
                asked += [(p.id, t) for t in tags if not set(tokenize(t)) <= own]
        return asked

    @staticmethod
    def _named(terms: set[str], products: list) -> tuple[dict[str, int], int]:
        named = {p.id: naming(terms, p.name, p.brand, p.size) for p in products}
        best = max(named.values(), default=0)
        if not best and products and naming(terms, products[0].name, min_words=1):
            best = named[products[0].id] = 1  # a one-word name ("Feta") counts for the top-ranked product only
        return named, best

    def _numbers_asked(self, text: str, own: list) -> tuple[list[str], list[str]]:
        """Order numbers in the question: (the shopper's own, the rest).

        Both are stated in the prompt, so the model answers from what it reads instead of matching a
        number against the order lines itself; whether a foreign order exists is never looked up. A number
        is taken for a foreign order only in a question about orders ("do you have the 1000 ct pack?" is
        not), one of the shopper's own order numbers always ("status update for 4030 please").
        """
        own_ids = {o.id for o in own}
        numbers = list(dict.fromkeys(_ORDER_NUMBER.findall(text)))
        foreign = [n for n in numbers if n not in own_ids] if _ABOUT_ORDERS.search(text) else []
        return [n for n in numbers if n in own_ids], foreign[:MAX_FOREIGN_ORDERS]

    def _orders_for(self, customer_id: str, text: str) -> list:
        """The newest orders, plus any of the shopper's own orders named by number in the text. Only those are
        read: loading all of a shopper's orders took 9 ms a question on average for the bench's shoppers."""
        limit = self.settings.max_orders_in_context
        mentioned = set(_ORDER_NUMBER.findall(text))
        named = self.store.customer_orders(customer_id, ids=sorted(mentioned)) if mentioned else []
        newest = self.store.customer_orders(customer_id, limit=limit) if limit else []
        named_ids = {o.id for o in named}
        recent = [o for o in newest if o.id not in named_ids]
        return (named + recent)[: max(limit, len(named))]

    def reply(self, conversation_id: str, customer_id: str | None, text: str) -> Reply:
        """Start answering. Nothing is generated until the reply is iterated."""
        text = self.validate(text)
        self.conversations.check_owner(conversation_id, customer_id)
        history = self.conversations.history(conversation_id, customer_id, self.settings.max_history_messages)
        ctx = self.gather(text, customer_id, history)
        session = ToolSession(customer_id, conversation_id)
        tool = tool_for(text, self.router) if self.settings.tool_routing == "rules" else None
        if tool is None and self._needs_sign_in(customer_id, text):
            return self._start(conversation_id, text, ctx, lambda reply: self._fixed(reply, SIGN_IN_ANSWER))
        if (tool is None and ctx.asked_tags and self.settings.attribute_answers == "catalog"
                and not _ASKS_MORE.search(text)):
            answer = attribute_answer(ctx.products, ctx.asked_tags)
            return self._start(conversation_id, text, ctx, lambda reply: self._fixed(reply, answer))
        if self.settings.tool_routing == "model":
            ctx.tool_help = tool_help(list(self.tools.tools.values()))
            turn = _Turn(session, ctx, history, text, self.settings.max_tool_calls_per_turn)
        else:
            if tool in self.tools.tools:
                ctx.tool_results.append((tool, self.tools.call(session, tool, rule_arguments(tool, text))))
            turn = _Turn(session, ctx, history, text, 0)
        messages, ctx = self._build(turn)
        return self._start(conversation_id, text, ctx, lambda reply: self._answer(reply, turn, messages))

    def _needs_sign_in(self, customer_id: str | None, text: str) -> bool:
        """An anonymous visitor asking about their orders: no order facts exist for the model to answer from,
        and a 135M model asked anyway invents them (a tracking number, a delivery day)."""
        return (customer_id is None and self.settings.sign_in_gate and self.router is not None
                and _THEIR_OWN.search(text) is not None and self.router.asks_about_orders(text))

    def _start(self, conversation_id: str, text: str, ctx: TurnContext,
               answer: Callable[[Reply], Iterator[str]]) -> Reply:
        self.conversations.append(conversation_id, "user", text)
        reply = Reply(conversation_id, ctx, iter(()))
        reply.message_id = self.conversations.append(conversation_id, "assistant", "", status=MessageStatus.streaming)
        reply._pieces = self._stream(reply, answer(reply))
        reply._abandon = lambda: self._store(reply, MessageStatus.interrupted)
        return reply

    @staticmethod
    def _fixed(reply: Reply, text: str) -> Iterator[str]:
        reply.stats.finish_reason = "stop"
        yield text

    def _build(self, turn: _Turn) -> tuple[list[dict[str, str]], TurnContext]:
        return build_messages(
            self.settings.shop_name,
            turn.context,
            turn.history,
            turn.text,
            count_tokens=self.generator.count_tokens,
            max_prompt_tokens=self.settings.max_prompt_tokens,
        )

    def _stream(self, reply: Reply, answer: Iterator[str]) -> Iterator[str]:
        status = MessageStatus.interrupted
        started = time.perf_counter()
        try:
            for piece in answer:
                if reply.stats.ttft_s is None:
                    reply.stats.ttft_s = time.perf_counter() - started
                reply.text += piece
                yield piece
            status = MessageStatus.complete
        finally:
            reply.stats.total_s = time.perf_counter() - started
            self._store(reply, status)

    def _answer(self, reply: Reply, turn: _Turn, messages: list[dict[str, str]]) -> Iterator[str]:
        """Generate until the model answers; each leading tool call is run, its result added, and the prompt rebuilt.

        The first characters are held back while they could still be `<tool>`, so a call never reaches
        the shopper; call attempts beyond the turn's allowance get a fixed answer instead.
        """
        calls = 0
        while True:
            stats = GenerationStats()
            pieces = self.generator.stream(messages, max_new_tokens=self.settings.max_new_tokens, stats=stats)
            held, shape = "", Shape.PENDING
            try:
                for piece in pieces:
                    if shape is Shape.ANSWER:
                        yield piece
                        continue
                    held += piece
                    shape = shape_of(held)
                    if shape is Shape.ANSWER:
                        yield held
                    elif shape is Shape.CALL and call_complete(held):
                        break
            finally:
                close = getattr(pieces, "close", None)
                if close is not None:
                    close()
                _add_usage(reply.stats, stats)
            if shape is Shape.PENDING and held:
                yield held
            if shape is not Shape.CALL:
                return
            calls += 1
            if calls > turn.model_calls_allowed:
                yield TOOL_FALLBACK_ANSWER
                return
            turn.context.tool_results.append(self._run_call(turn.session, held))
            messages, reply.context = self._build(turn)

    def _run_call(self, session: ToolSession, text: str) -> tuple[str, ToolResult]:
        """A model-written call, run for the session's shopper; any problem becomes a ToolFailure the model reads."""
        try:
            call = parse_call(text)
        except MalformedCall as exc:
            return "tool", ToolFailure(f"Error: {exc}. Answer the shopper without a tool.")
        try:
            return call.name, self.tools.call(session, call.name, call.arguments)
        except ToolError as exc:
            return call.name, ToolFailure(f"Error: {exc}. Answer the shopper without this tool.")

    def _store(self, reply: Reply, status: MessageStatus) -> None:
        self.conversations.finish(
            reply.message_id,
            reply.text.strip(),
            status=status,
            meta={
                "sources": reply.sources,
                "tools": [{"name": n, "items": r.items} for n, r in reply.tool_results],
                "tool_errors": [{"name": n, "error": r.text} for n, r in reply.context.tool_results
                                if isinstance(r, ToolFailure)],
                "finish_reason": reply.stats.finish_reason if status is MessageStatus.complete else "cancelled",
                "usage": {
                    "prompt_tokens": reply.stats.prompt_tokens,
                    "completion_tokens": reply.stats.completion_tokens,
                },
            },
        )


def _add_usage(total: GenerationStats, part: GenerationStats) -> None:
    """A turn's usage spans its tool-call generations and the answer; the last one says why it stopped."""
    total.prompt_tokens += part.prompt_tokens
    total.completion_tokens += part.completion_tokens
    total.finish_reason = part.finish_reason
