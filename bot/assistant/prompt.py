"""Builds the model's messages from the turn's context: system rules, facts with their ids, history, question.

The format is compact on purpose: a 135M model reads it best when each fact is one short line, and
the LoRA training data (adapters/) is generated with these same functions so training and serving
see identical prompts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.assistant.tools.base import ToolResult
from retrieval.documents import SearchDoc
from retrieval.schema import Product
from retrieval.store import OrderView

# The kinds of facts a prompt may hold; a question reads only those its intent needs (`facts_by_intent`).
PRODUCTS, POLICIES, ORDERS = "products", "policies", "orders"
FACT_KINDS = frozenset({PRODUCTS, POLICIES, ORDERS})

SYSTEM_RULES = (
    "You are the customer-service assistant of {shop}. Answer the shopper in one to three short sentences, "
    "using only the facts below. Copy prices, dates and tracking numbers exactly. If the facts do not answer "
    "the question, say you don't know and offer to connect them with a person. Never reveal other customers' data."
)
# A big weekly shop lists a dozen items; naming them all would double an order's share of the prompt
# (and of the first-token wait) for questions that are nearly always about status and delivery.
ORDER_ITEMS_SHOWN = 3
# A description's first sentence says what the product is; the rest is marketing ("the better buy for big
# households") that no training answer or eval check uses: cutting it took the 16 bench prompts from 4,344 to
# 4,091 tokens computed. Part of the format the adapter is trained on, hence not a setting.
DESCRIPTION_SENTENCES = 1
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[])")


@dataclass
class TurnContext:
    """The facts retrieved for one turn; `sources` says what the answer may cite."""

    products: list[Product] = field(default_factory=list)
    policies: list[SearchDoc] = field(default_factory=list)
    orders: list[OrderView] = field(default_factory=list)
    customer_name: str | None = None
    tool_results: list[tuple[str, ToolResult]] = field(default_factory=list)
    tool_help: str = (
        ""  # the tool-call format and tools, when the model routes tools itself (bot/assistant/toolcall.py)
    )
    foreign_orders: list[str] = field(default_factory=list)  # order numbers asked about that are not the shopper's
    asked_orders: list[str] = field(default_factory=list)  # the shopper's own orders the question names
    asked_tags: list[tuple[str, str]] = field(default_factory=list)  # (product id, tag) the question asks about
    orders_left_out: bool = False  # the question needs none of the shopper's orders: the prompt says nothing of them

    @property
    def sources(self) -> list[dict[str, str]]:
        seen: dict[tuple[str, str], str] = {}
        for p in self.products:
            seen.setdefault(("product", p.id), p.name)
        for d in self.policies:
            seen.setdefault(("policy", d.source_id), d.metadata.get("policy_title", d.title))
        for o in self.orders:
            seen.setdefault(("order", o.id), f"Order {o.id}")
        return [{"type": t, "id": i, "title": title} for (t, i), title in seen.items()]


def listing(words: list[str], last: str = "and") -> str:
    """ "a", "a and b", "a, b and c": items named in a sentence."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def format_price(value) -> str:
    return "price unknown" if value is None else f"${float(value):.2f}"


def stock_text(stock: int | None) -> str:
    if stock is None:
        return "stock unknown"
    return "out of stock" if stock <= 0 else f"in stock ({stock})"


def product_line(p: Product) -> str:
    bits = [p.name]
    if p.brand:
        bits.append(p.brand)
    if p.size:
        bits.append(p.size)
    bits += [format_price(p.price), stock_text(p.stock)]
    tags = ", ".join(p.tag_list)
    line = f"[{p.id}] " + " | ".join(bits)
    if tags:
        line += f" | {tags}"
    description = first_sentences(p.description, DESCRIPTION_SENTENCES)
    if description:
        line += f". {description}"
    return line


def first_sentences(text: str | None, n: int) -> str:
    return " ".join(_SENTENCE_END.split(text.strip(), maxsplit=n)[:n]) if text else ""


def order_line(o: OrderView, max_items: int = ORDER_ITEMS_SHOWN) -> str:
    items = ", ".join(f"{item.quantity}x {item.name}" for item in o.lines[:max_items])
    if len(o.lines) > max_items:
        items += f" and {len(o.lines) - max_items} more"
    bits = [f"Order {o.id}", f"placed {o.placed_at}", f"status {o.status}"]
    if o.carrier:
        bits.append(f"carrier {o.carrier}")
    if o.tracking_number:
        bits.append(f"tracking {o.tracking_number}")
    if o.estimated_delivery and o.status not in ("delivered", "cancelled", "refunded"):
        bits.append(f"expected {o.estimated_delivery}")
    if o.delivered_at:
        bits.append(f"delivered {o.delivered_at}")
    bits.append(f"total ${o.total:.2f}")
    return " | ".join(bits) + f" | items: {items}"


def tag_line(p: Product, tag: str) -> str:
    name = f"{p.brand} {p.name}" if p.brand else p.name
    answer = f"yes, it is listed as {tag}" if tag in p.tag_list else f"no, it is not listed as {tag}"
    return f"The shopper asks if the {name} is {tag}: {answer}."


def policy_line(d: SearchDoc) -> str:
    return f"[{d.source_id}] {d.text}"


def system_message(shop_name: str, ctx: TurnContext) -> str:
    """The shop's facts come before the shopper's own: shoppers asking the same thing share the prompt up
    to their name, and the scheduler's slot cache reads that part once for all of them."""
    parts = [SYSTEM_RULES.format(shop=shop_name)]
    if ctx.tool_help:
        parts.append(ctx.tool_help)
    if ctx.products:
        parts.append("Products:\n" + "\n".join(product_line(p) for p in ctx.products))
    if ctx.policies:
        parts.append("Policies:\n" + "\n".join(policy_line(d) for d in ctx.policies))
    if ctx.customer_name:
        parts.append(f"The shopper is {ctx.customer_name}, signed in.")
    else:
        parts.append(
            "The shopper is not signed in: you cannot see any orders. For order questions, ask them to sign in."
        )
    if ctx.customer_name:
        if ctx.orders:
            parts.append("The shopper's orders (newest first):\n" + "\n".join(order_line(o) for o in ctx.orders))
        elif not ctx.orders_left_out:
            parts.append("The shopper has no orders.")
        for order_id in ctx.asked_orders:
            parts.append(f"The shopper asks about their order {order_id}.")
        for order_id in ctx.foreign_orders:
            parts.append(f"Order {order_id} is not on this shopper's account: you can only share their own orders.")
    shown = {p.id: p for p in ctx.products}
    parts += [tag_line(shown[i], tag) for i, tag in ctx.asked_tags if i in shown]
    for name, result in ctx.tool_results:
        parts.append(f"Result of {name}:\n{result.text}")
    return "\n\n".join(parts)


def name_orders(question: str, order_ids: Sequence[str]) -> str:
    """The shopper's own order numbers in the question, written "order N" whatever form they came in.

    The model reads "order 4030" as the shopper's order in the list above, but "#4030" or a bare
    "status update for 4030" it often takes for an order it cannot find.
    """
    for n in order_ids:
        question = re.sub(rf"(?:\border\s+)?(?:#\s?)?\b{re.escape(n)}\b", f"order {n}", question, flags=re.IGNORECASE)
    return question


def build_messages(
    shop_name: str,
    ctx: TurnContext,
    history: Sequence[dict[str, str]],
    question: str,
    *,
    count_tokens: Callable[[list[dict[str, str]]], int],
    max_prompt_tokens: int,
) -> tuple[list[dict[str, str]], TurnContext]:
    """Fit the prompt into the budget: drop the oldest history first, then the lowest-ranked facts.

    Returns the messages and the context that survived, so citations name only facts the model saw.
    """
    history = list(history)
    ctx = TurnContext(
        list(ctx.products),
        list(ctx.policies),
        list(ctx.orders),
        ctx.customer_name,
        list(ctx.tool_results),
        ctx.tool_help,
        list(ctx.foreign_orders),
        list(ctx.asked_orders),
        list(ctx.asked_tags),
        ctx.orders_left_out,
    )
    while True:
        messages = [
            {"role": "system", "content": system_message(shop_name, ctx)},
            *history,
            {"role": "user", "content": name_orders(question, ctx.asked_orders)},
        ]
        if count_tokens(messages) <= max_prompt_tokens:
            return messages, ctx
        if history:
            history = history[2:] if len(history) > 1 else []
        elif ctx.policies or ctx.products or ctx.orders:
            longest = max((ctx.policies, ctx.products, ctx.orders), key=len)
            longest.pop()
        else:
            raise ValueError(
                f"the question alone is longer than max_prompt_tokens={max_prompt_tokens}: shorten it "
                "or raise SHOPBOT_MAX_PROMPT_TOKENS"
            )
