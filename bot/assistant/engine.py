"""The conversation engine: one shopper turn = gather facts, build the prompt, stream the answer, keep it.

Customer identity is an argument from the authenticated session (or None for an anonymous visitor),
never something read from the shopper's or the model's text; order facts come only from
`Store.customer_orders` for that id.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from bot.assistant.answers import (
    APOLOGY,
    INJECTION,
    NOT_SOLD,
    OTHER_DATA,
    attribute_answer,
    beyond_powers_answer,
    complaint_answer,
    not_your_order,
    order_answer,
    policy_answer,
    policy_ties,
    product_answer,
)
from bot.assistant.conversations import Conversations
from bot.assistant.events import Finished, Sources, Text, ToolCalled, TurnEvent
from bot.assistant.grounding import Finding, Guard
from bot.assistant.intents import (
    ORDER_INTENTS,
    POLICY_INTENTS,
    REFUSED_INTENTS,
    IntentRouter,
    Routing,
    rule_arguments,
    tool_for,
)
from bot.assistant.prompt import FACT_KINDS, ORDERS, POLICIES, PRODUCTS, TurnContext, build_messages
from bot.assistant.question import (
    Question,
    asks_how_to_reach,
    asks_more_than_tags,
    asks_to_have_done,
    numbers_asked,
    order_numbers,
    question_parts,
    search_query,
    speaks_of_their_own,
    subject_orders,
)
from bot.assistant.subject import (
    PRODUCT_INTENTS,
    Resolved,
    ShopWords,
    asks_of_products,
    names_nothing_sold,
    names_tag,
    resolve_order,
    resolve_products,
    tags_asked,
)
from bot.assistant.toolcall import MalformedCall, Reading, Shape, ToolFailure, answer_pieces, parse_call, tool_help
from bot.assistant.tools.base import ToolError, ToolRegistry, ToolResult, ToolSession
from bot.inference.generator import GenerationStats, Generator
from bot.settings import Settings
from retrieval.documents import SearchDoc
from retrieval.retriever import POLICY_SENTENCES, Hit, Retriever
from retrieval.schema import MessageStatus, Product
from retrieval.spelling import Speller, words_of
from retrieval.store import OrderView, Store

# Policy sentences read to pick the answering ones from, and how close (cosine) one must be to be quoted.
POLICY_SENTENCES_READ = 6
MIN_SENTENCE_SIMILARITY = 0.25
# How likely a complaint a message must read as for an answer in fixed words (a person fetched) to start
# with an apology: a plain request for a person reads as one at 0.005 or less, "this bot is useless, you've
# given me the same non answer three times" at 0.03 (the handoff takes most of the rest).
COMPLAINT_SHARE = 0.025
# The shopper's newest orders an order follow-up ("and the one before it?") is resolved among.
FOLLOW_UP_ORDERS_READ = 20
# A follow-up without a number ("and the delivery date?") carries the order it follows up on only when it asks
# about an order at least this likely (the order intents together): "price of milk?" does not.
FOLLOW_UP_ORDER_MASS = 0.3
# A question the router reads as about an order, not surely, that names nothing of the shopper's ("when do I get a
# tracking number for a parcel order?", "do you deliver on Sundays?") and reads this likely as a policy question
# is answered from the policies: the shop's terms answer it, and no order record does.
GENERAL_POLICY_SHARE = 0.15
# Intents answered in their own words even where the message also reads as a follow-up, an order question or a
# product's price (unless it names the product in full: "what would the Sharp Cheddar set me back?").
ANSWERED_APART = REFUSED_INTENTS | POLICY_INTENTS
POLICY_ANSWERS = {"policy": policy_answer, "complaint": complaint_answer, "beyond_powers": beyond_powers_answer}
TOOL_FALLBACK_ANSWER = "Sorry, I couldn't finish that request. Would you like me to connect you with a person?"
# The answer an anonymous visitor's order question gets (settings.sign_in_gate); the adapter learns it too.
SIGN_IN_ANSWER = "You're not signed in, so I can't see any orders. Please sign in and ask again."


def shop_speller(retriever: Retriever, router: IntentRouter | None) -> Speller:
    """Misspellings corrected toward the words the shop indexed and the router was fitted on."""
    return Speller(retriever.vocabulary() | words_of(router.phrasings if router is not None else []))


def require_customer(store: Store, customer_id: str | None) -> None:
    """A session names a customer the shop knows, or none (an anonymous visitor)."""
    if customer_id is not None and store.customer(customer_id) is None:
        raise PermissionError(f"unknown customer {customer_id!r}")


@dataclass
class Reply:
    """One streaming answer. `message_id` is reserved at once; `prelude` holds what is known before any
    generation (the tools rule routing called, the sources); `events()` (or iterating for the text alone)
    generates the rest. Afterwards `text` and `stats` are set.

    Until the events end the stored message has status `streaming`; closing them early stores the text so
    far as `interrupted`.
    """

    conversation_id: str
    context: TurnContext
    _events: Iterator[TurnEvent]
    prelude: list[TurnEvent] = field(default_factory=list)
    text: str = ""
    stats: GenerationStats = field(default_factory=GenerationStats)
    message_id: int | None = None
    corrections: list[Finding] = field(default_factory=list)  # what the grounding guard changed in the answer
    _abandon: Callable[[], None] | None = None

    def events(self) -> Iterator[TurnEvent]:
        """The answer's text pieces, any tools the model calls on the way (each with the sources it brings)
        and, when the answer is complete, `Finished`."""
        return self._events

    def __iter__(self) -> Iterator[str]:
        try:
            for event in self._events:
                if isinstance(event, Text):
                    yield event.text
        finally:
            self._events.close()

    def close(self) -> None:
        """Give up on the answer, from the thread that iterates it; one never started is stored empty."""
        never_started = inspect.getgeneratorstate(self._events) == inspect.GEN_CREATED
        self._events.close()
        if never_started and self._abandon is not None:
            self._abandon()

    @property
    def sources(self) -> list[dict[str, str]]:
        return self.context.sources

    @property
    def tool_results(self) -> list[tuple[str, ToolResult]]:
        """Results shown to the shopper, in call order; refused calls (ToolFailure) only ever reach the model."""
        return [(n, r) for n, r in self.context.tool_results if not isinstance(r, ToolFailure)]


@dataclass(frozen=True)
class _Catalog:
    products: list[Product]
    tags: frozenset[str]


@dataclass
class _Turn:
    """What a turn's prompt is rebuilt from after each tool call."""

    session: ToolSession
    context: TurnContext
    history: list[dict[str, str]]
    text: str
    model_calls_allowed: int
    max_new_tokens: int  # each generation's cap: the setting, or a client's lower one (OpenAI `max_tokens`)


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

    def warm(self) -> None:
        """Read what the first message would otherwise wait for: the catalog's names and the speller."""
        _ = self._catalog, self._speller

    @property
    def internal_names(self) -> dict[str, str]:
        """Tool and argument names a shopper should read as words, the underscores as spaces: asked "what tools
        do you have?", the model under model routing listed them as its prompt spells them."""
        names = set(self.tools.tools) | {f for t in self.tools.tools.values() for f in t.args.model_fields if "_" in f}
        return {name: name.replace("_", " ") for name in sorted(names, key=len, reverse=True)}

    def start(self, customer_id: str | None) -> str:
        """A new stored conversation for the terminal chat and scripts. The server stores its conversations only
        with their first message (`Conversations.open`), so opening a chat writes nothing."""
        require_customer(self.store, customer_id)
        return self.conversations.create(customer_id)

    def question(self, text: str) -> Question:
        """The shopper's message checked against the limits; raises MessageRejected saying what is wrong."""
        return Question.parse(text, self.settings.max_message_chars)

    def gather(self, text: str, customer_id: str | None, history: list[dict[str, str]]) -> TurnContext:
        s = self.settings
        query = search_query(text, history)
        ctx = TurnContext()
        kinds = self._fact_kinds(text)
        vector = self.retriever.embed(query) if s.top_k_products or s.top_k_policies else None
        if s.top_k_products and PRODUCTS in kinds:
            hits = self.retriever.search(query, "products", s.top_k_products, s.min_product_similarity, vector=vector)
            ids = [h.doc.source_id for h in hits]
            by_id = self.store.products_by_id(ids)
            ctx.products = [by_id[i] for i in ids if i in by_id]
            ctx.asked_tags = tags_asked(text, query, ctx.products, self.store.product_tags)
        if s.top_k_policies and POLICIES in kinds:
            ctx.policies = [
                h.doc
                for h in self.retriever.search(
                    query, "policies", s.top_k_policies, s.min_policy_similarity, vector=vector
                )
            ]
        if customer_id is not None:
            customer = self.store.customer(customer_id)
            ctx.customer_name = customer.name if customer else customer_id
            about = subject_orders(text, history)
            orders = self._orders_for(customer_id, about)
            ctx.asked_orders, ctx.foreign_orders = numbers_asked(about, {o.id for o in orders})
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

    def _orders_for(self, customer_id: str, text: str) -> list:
        """The newest orders, plus any of the shopper's own orders named by number in the text. Only those are
        read: a shopper with a long history would otherwise cost every question all of their orders."""
        limit = self.settings.max_orders_in_context
        mentioned = set(order_numbers(text))
        named = self.store.customer_orders(customer_id, ids=sorted(mentioned)) if mentioned else []
        newest = self.store.customer_orders(customer_id, limit=limit) if limit else []
        named_ids = {o.id for o in named}
        recent = [o for o in newest if o.id not in named_ids]
        return (named + recent)[: max(limit, len(named))]

    def reply(
        self, conversation_id: str, customer_id: str | None, question: Question | str, max_new_tokens: int | None = None
    ) -> Reply:
        """Start answering. Nothing is generated until the reply's events are read.

        `question` is checked where it entered (`question()`); plain text is checked here. `max_new_tokens`
        lowers the `max_new_tokens` setting for this turn's model answer (never raises it); an answer in fixed
        words is never cut.
        """
        said = (question if isinstance(question, Question) else self.question(question)).text
        self.conversations.check_owner(conversation_id, customer_id)
        history = self._read_history(
            self.conversations.history(conversation_id, customer_id, self.settings.max_history_messages)
        )
        read = self._read(said)
        resolved = self.resolve(read, customer_id, history)
        text, earlier = (resolved.text, []) if resolved is not None else (read, history)
        ctx = self.gather(text, customer_id, earlier)
        if resolved is not None and (answer := self._resolved_answer(resolved, ctx)):
            return self._start(conversation_id, said, ctx, lambda reply: self._fixed(reply, answer))
        session = ToolSession(customer_id, conversation_id)
        tool = self._routed_tool(text)
        fixed = self._fixed_answer(text, customer_id, ctx, earlier) if tool is None else None
        if fixed is None and self._sells_nothing_asked(text, tool):
            ctx.products = []
            fixed = NOT_SOLD
        if fixed is not None:
            return self._start(conversation_id, said, ctx, lambda reply: self._fixed(reply, fixed))
        if (
            tool is None
            and ctx.asked_tags
            and self.settings.attribute_answers == "catalog"
            and not asks_more_than_tags(text)
        ):
            answer = attribute_answer(ctx.products, ctx.asked_tags)
            return self._start(conversation_id, said, ctx, lambda reply: self._fixed(reply, answer))
        if tool in self.tools.tools:
            ctx.tool_results.append((tool, self.tools.call(session, tool, rule_arguments(tool, text))))
            if (words := self.tools.tools[tool].reply) is not None:
                answer = f"{APOLOGY} {words}" if self._complains(text) else words
                return self._start(conversation_id, said, ctx, lambda reply: self._fixed(reply, answer))
        model_calls = 0
        if self.settings.tool_routing == "model":
            ctx.tool_help = tool_help(list(self.tools.tools.values()))
            model_calls = self.settings.max_tool_calls_per_turn
        cap = min(max_new_tokens or self.settings.max_new_tokens, self.settings.max_new_tokens)
        turn = _Turn(session, ctx, history, text, model_calls, cap)
        messages, ctx = self._build(turn)
        return self._start(conversation_id, said, ctx, lambda reply: self._answer(reply, turn, messages))

    @cached_property
    def _speller(self) -> Speller | None:
        return shop_speller(self.retriever, self.router) if self.settings.spelling else None

    def _read(self, text: str) -> str:
        """The message as routing and search read it: misspellings corrected (settings.spelling)."""
        return self._speller.correct(text) if self._speller is not None else text

    def _read_history(self, history: list[dict[str, str]]) -> list[dict[str, str]]:
        return [m | {"content": self._read(m["content"])} if m["role"] == "user" else m for m in history]

    def resolve(self, text: str, customer_id: str | None, history: list[dict[str, str]]) -> Resolved | None:
        """The message read as the question it stands for (bot/assistant/subject.py): about one of the
        shopper's own orders, or, for a follow-up, about the products their earlier messages named. None for
        a message that is neither, or one with an answer of its own: a refusal, a complaint, a request beyond
        the bot, a person asked for."""
        if self._answered_apart(text, REFUSED_INTENTS | {"complaint"}):
            return None
        resolved = resolve_order(text, history, *self._order_readers(customer_id)) if customer_id else None
        if resolved is None:
            earlier = [m["content"] for m in history if m["role"] == "user"]
            resolved = resolve_products(text, earlier, self._catalog.products, self._catalog.tags)
        return None if resolved is None or self._answered_apart(resolved.text) else resolved

    def _order_readers(
        self, customer_id: str
    ) -> tuple[Callable[[], list[OrderView]], Callable[[str], OrderView | None]]:
        """The shopper's newest orders and one of theirs by number, each read from the store at most once a
        turn, and only if asked for."""
        newest: list[OrderView] = []
        known: dict[str, OrderView | None] = {}

        def read_newest() -> list[OrderView]:
            if not newest:
                newest.extend(self.store.customer_orders(customer_id, limit=FOLLOW_UP_ORDERS_READ))
                known.update((o.id, o) for o in newest)
            return newest

        def own(number: str) -> OrderView | None:
            if number not in known:
                known[number] = next(iter(self.store.customer_orders(customer_id, ids=[number])), None)
            return known[number]

        return read_newest, own

    @cached_property
    def _catalog(self) -> _Catalog:
        """The products' names, brands and sizes, and the shop's tags, read once like the search index they
        were indexed from; what a resolved question is answered with is read fresh (`_resolved_answer`)."""
        return _Catalog(self.store.products(), frozenset(self.store.product_tags()))

    def _answered_apart(self, text: str, intents: frozenset[str] = ANSWERED_APART) -> bool:
        """Whether the message has an answer of its own: a tool with an effect (a person asked for), or one of
        `intents` routed. A policy question or a request beyond the bot is judged on the question a follow-up
        stands for ("which courier?" reads like a question about the shop's couriers, and "k, code to follow it
        then" like a request, until they are "which courier has order 5365?" and "its tracking number?")."""
        tool = tool_for(text, self.router)
        if tool in self.tools.tools and self.tools.tools[tool].effect is not None:
            return True
        routing = self.router.route(text) if self.router is not None else None
        if routing is None or routing.acted_on not in intents:
            return False
        return routing.acted_on in REFUSED_INTENTS or not asks_of_products(text, self._catalog.products)

    def _resolved_answer(self, resolved: Resolved, ctx: TurnContext) -> str | None:
        """A resolved question's answer from its facts (settings.fact_answers), where it asks what the
        facts say: an order's status, tracking, courier or date; a product's price, stock or tags."""
        if self.settings.fact_answers != "facts":
            return None
        if resolved.order is not None:
            ctx.orders = [resolved.order]
            return order_answer(resolved.order, resolved.aspects)
        current = self.store.products_by_id([p.id for p in resolved.products])
        products = [current[p.id] for p in resolved.products if p.id in current]
        tags = [(p.id, t) for p in products for t in resolved.tags if not names_tag(p, t)]
        if not products or tags and self.settings.attribute_answers != "catalog" or not (resolved.aspects or tags):
            return None
        ctx.products = products
        parts = [attribute_answer(products, tags) if tags else "", product_answer(products, resolved.aspects)]
        return " ".join(p for p in parts if p)

    @cached_property
    def _shop_words(self) -> ShopWords:
        """What the shop sells and what else is said to it, read once like the indexes they come from."""
        talk = self.retriever.vocabulary(products=False)
        if self.router is not None:
            asked_of = PRODUCT_INTENTS | {self.router.tool_of.get(i) for i in PRODUCT_INTENTS}
            talk |= words_of(t for t, label in zip(self.router.phrasings, self.router.labels) if label not in asked_of)
        return ShopWords(frozenset(self.retriever.vocabulary(products=True)), frozenset(talk))

    def _sells_nothing_asked(self, text: str, tool: str | None) -> bool:
        """A question whether the shop sells something it has nothing of ("lobster tails?"), answered so
        without the model, which, given the nearest products, said "Yes, the Large Brown Eggs is Lobster
        Tails"; only a catalog search (a tool with no effect that needs no shopper) is not run for it."""
        if self.router is None or (tool is not None and not self._harmless(tool)):
            return False
        return names_nothing_sold(text, self.router.route(text).intent, self._shop_words)

    def _harmless(self, tool: str) -> bool:
        spec = self.tools.tools.get(tool)
        return spec is not None and spec.effect is None and not spec.needs_customer

    def _complains(self, text: str) -> bool:
        """Whether the message reads as a complaint at least `COMPLAINT_SHARE` likely: an angry request for a
        person is apologised to before it is handed over."""
        if self.router is None:
            return False
        p = self.router.route(text).probabilities
        return p.get("complaint", 0.0) >= COMPLAINT_SHARE

    def _routed_tool(self, text: str) -> str | None:
        """The tool called before the model answers: any the router picks under rule routing; under model
        routing only one with a side effect (a person asked for is always fetched, whatever the model writes)."""
        tool = tool_for(text, self.router)
        if self.settings.tool_routing == "rules" or tool is None:
            return tool
        return tool if tool in self.tools.tools and self.tools.tools[tool].effect is not None else None

    def _fixed_answer(
        self, text: str, customer_id: str | None, ctx: TurnContext, history: list[dict[str, str]]
    ) -> str | None:
        """The answer in fixed words from the turn's facts (bot/assistant/answers.py), where one applies:
        an order number that is not the shopper's; an anonymous visitor's order question; a question about
        the shop's terms, a complaint or a request the bot cannot carry out (for anyone, signed in or not);
        another shopper's data asked for. A follow-up is routed with the message it follows ("what about the
        bigger box" after a price question is a price question)."""
        query = search_query(text, history)
        routing = self.router.route(query) if self.router is not None else None
        if customer_id is not None and ctx.foreign_orders and not ctx.asked_orders:
            named_here = set(order_numbers(text)) & set(ctx.foreign_orders)
            if named_here or (routing is not None and routing.order_mass >= FOLLOW_UP_ORDER_MASS):
                return not_your_order(ctx.foreign_orders)
        if self._needs_sign_in(customer_id, query, routing):
            return SIGN_IN_ANSWER
        if routing is not None and routing.acted_on in REFUSED_INTENTS:
            return (
                OTHER_DATA
                if routing.acted_on == "other_customer_data"
                else INJECTION.format(shop=self.settings.shop_name)
            )
        acted = routing.acted_on if routing is not None else None
        if routing is not None and acted is None and asks_to_have_done(text):
            acted = "beyond_powers"
        elif routing is not None and acted is None and _asks_of_orders_in_general(routing, query):
            acted = "policy"
        if acted in POLICY_INTENTS and not ctx.asked_orders and not asks_of_products(text, ctx.products):
            hits, also = policy_search(self.retriever, query, text)
            contact = self.settings.support_contact
            if acted == "policy" and not asks_how_to_reach(text):
                contact = ""
            docs = [h.doc for h in hits]
            answer = POLICY_ANSWERS[acted](docs, contact, self.retriever.sentence_beside, also)
            quoted = docs + also
            near = [n for d in quoted for n in (self.retriever.sentence_beside(d, s) for s in (-1, 1)) if n is not None]
            ctx.policies = [d for d in dict.fromkeys(quoted + near) if d.metadata.get("sentence", "") in answer]
            return answer
        return None

    def _needs_sign_in(self, customer_id: str | None, text: str, routing: Routing | None) -> bool:
        """An anonymous visitor asking about their orders: no order facts exist for the model to answer from,
        and a 135M model asked anyway invents them (a tracking number, a delivery day)."""
        return (
            customer_id is None
            and self.settings.sign_in_gate
            and routing is not None
            and speaks_of_their_own(text)
            and routing.asks_about_orders
        )

    def _start(
        self, conversation_id: str, text: str, ctx: TurnContext, answer: Callable[[Reply], Iterator[TurnEvent]]
    ) -> Reply:
        self.conversations.append(conversation_id, "user", text)
        reply = Reply(conversation_id, ctx, iter(()))
        reply.prelude = [self._called(name, result) for name, result in reply.tool_results]
        if reply.sources:
            reply.prelude.append(Sources(list(reply.sources)))
        reply.message_id = self.conversations.append(conversation_id, "assistant", "", status=MessageStatus.streaming)
        reply._events = self._stream(reply, answer(reply))
        reply._abandon = lambda: self._store(reply, MessageStatus.interrupted)
        return reply

    def _called(self, name: str, result: ToolResult) -> ToolCalled:
        tool = self.tools.tools.get(name)
        return ToolCalled(name, result, tool.effect if tool is not None else None)

    @staticmethod
    def _fixed(reply: Reply, text: str) -> Iterator[TurnEvent]:
        reply.stats.finish_reason = "stop"
        yield Text(text)

    def _build(self, turn: _Turn) -> tuple[list[dict[str, str]], TurnContext]:
        return build_messages(
            self.settings.shop_name,
            turn.context,
            turn.history,
            turn.text,
            count_tokens=self.generator.count_tokens,
            max_prompt_tokens=self.settings.max_prompt_tokens,
        )

    def _stream(self, reply: Reply, answer: Iterator[TurnEvent]) -> Iterator[TurnEvent]:
        """The answer's events, keeping its text; stored complete at the end, interrupted if closed early.

        While it streams, the text so far is saved at most once every `partial_answer_save_s` (on the first
        piece after the interval), so a crash loses at most that much of it and start-up recovery shows the
        rest as interrupted. The write rate is bounded by time, not tokens: N answers streaming at once cost at
        most N / interval small UPDATEs a second however fast the model writes, which SQLite's one writer
        bears beside the other traffic."""
        status = MessageStatus.interrupted
        started = time.perf_counter()
        saved_at, saved = started, ""
        try:
            for event in answer:
                if isinstance(event, Text):
                    now = time.perf_counter()
                    if reply.stats.ttft_s is None:
                        reply.stats.ttft_s = now - started
                    reply.text += event.text
                    if now - saved_at >= self.settings.partial_answer_save_s and reply.text != saved:
                        saved_at, saved = now, reply.text
                        self.conversations.save_partial(reply.message_id, reply.text.strip(), self._meta(reply))
                yield event
            status = MessageStatus.complete
            if reply.stats.finish_reason in (None, "cancelled"):
                # every event came: a generation broken off on the way (a tool call that was cut short and
                # answered in fixed words) does not make the answer cancelled
                reply.stats.finish_reason = "stop"
            yield Finished(reply.stats)
        finally:
            reply.stats.total_s = time.perf_counter() - started
            self._store(reply, status)

    def _answer(self, reply: Reply, turn: _Turn, messages: list[dict[str, str]]) -> Iterator[TurnEvent]:
        """Generate until the model answers; each leading tool call is run, its result added, and the prompt rebuilt.

        The first characters are held back while they could still be `<tool>`, so a call never reaches
        the shopper; call attempts beyond the turn's allowance get a fixed answer instead. The answer's text
        passes the grounding guard (bot/assistant/grounding.py) on its way out.
        """
        calls = 0
        while True:
            stats = GenerationStats()
            guard = Guard(reply.context, self.internal_names)
            pieces = self.generator.stream(messages, max_new_tokens=turn.max_new_tokens, stats=stats)
            reading = Reading()
            try:
                for text in answer_pieces(pieces, reading):
                    if shown := guard.feed(text):
                        yield Text(shown)
            finally:
                close = getattr(pieces, "close", None)
                if close is not None:
                    close()
                _add_usage(reply.stats, stats)
            if reading.shape is not Shape.CALL:
                rest = guard.finish()
                reply.corrections += guard.corrections
                if rest:
                    yield Text(rest)
                return
            calls += 1
            if calls > turn.model_calls_allowed:
                reply.stats.finish_reason = "stop"  # the answer is in fixed words and whole, whatever cut the call
                yield Text(TOOL_FALLBACK_ANSWER)
                return
            name, result = self._run_call(turn.session, reading.held)
            turn.context.tool_results.append((name, result))
            sources = list(reply.sources)
            messages, reply.context = self._build(turn)
            if not isinstance(result, ToolFailure):
                yield self._called(name, result)
            if reply.sources and reply.sources != sources:
                yield Sources(list(reply.sources))

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
        meta = self._meta(reply)
        meta["finish_reason"] = reply.stats.finish_reason if status is MessageStatus.complete else "cancelled"
        self.conversations.finish(reply.message_id, reply.text.strip(), status=status, meta=meta)

    @staticmethod
    def _meta(reply: Reply) -> dict:
        """What is kept beside an answer's text: its sources and tools (shown in history), tool errors, usage."""
        return {
            "sources": reply.sources,
            "tools": [{"name": n, "items": r.items} for n, r in reply.tool_results],
            "tool_errors": [
                {"name": n, "error": r.text} for n, r in reply.context.tool_results if isinstance(r, ToolFailure)
            ],
            "usage": {
                "prompt_tokens": reply.stats.prompt_tokens,
                "completion_tokens": reply.stats.completion_tokens,
            },
        }


def policy_search(retriever: Retriever, query: str, text: str) -> tuple[list[Hit], list[SearchDoc]]:
    """The policy sentences nearest `query` (the message, or a follow-up with the message before it), and
    those quoted beside the best one's policy: another policy's as close (`policy_ties`), and, for a message
    asking two things (`question_parts`), each part's best sentence ("how late can I add things, and where
    do I do that?" is answered by two sentences that neither question finds alone)."""
    hits = retriever.search(query, POLICY_SENTENCES, POLICY_SENTENCES_READ, MIN_SENTENCE_SIMILARITY)
    also = policy_ties(hits)
    for part in question_parts(text):
        best = retriever.search(part, POLICY_SENTENCES, 1, MIN_SENTENCE_SIMILARITY)
        also += [best[0].doc] if best else []
    return hits, list(dict.fromkeys(also))


def _asks_of_orders_in_general(routing: Routing, text: str) -> bool:
    """An order question in general words: the router leans to an order intent, or to the policies but not past
    the order intents together, without acting on it, the policy reading is `GENERAL_POLICY_SHARE` likely, and
    the message names no order and nothing of the shopper's ("do you deliver on Sundays, and how late?")."""
    return (
        (routing.intent in ORDER_INTENTS or routing.intent == "policy")
        and routing.probabilities.get("policy", 0.0) >= GENERAL_POLICY_SHARE
        and not speaks_of_their_own(text)
        and not order_numbers(text)
    )


def _add_usage(total: GenerationStats, part: GenerationStats) -> None:
    """A turn's usage spans its tool-call generations and the answer; the last one says why it stopped."""
    total.prompt_tokens += part.prompt_tokens
    total.completion_tokens += part.completion_tokens
    total.finish_reason = part.finish_reason
