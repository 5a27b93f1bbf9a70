"""The `suggest_reorder` tool: the recommender's answer for the signed-in shopper, as text and cards.

The shopper is the session's customer; the arguments only shape the answer (how many items), so a
`customer_id` written by the model or the shopper is dropped before the tool runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from pydantic import Field

from bot.assistant.prompt import listing
from bot.assistant.tools import register
from bot.assistant.tools.base import Route, Tool, ToolArgs, ToolResult, ToolSession, ToolSpec, Training
from bot.reorder.recommend import Recommendation, ReorderModel, Suggestion, recommend_for_customer
from retrieval.schema import Product
from retrieval.store import Store

NAME = "suggest_reorder"
PHRASES = re.compile(
    r"\b(re-?order|re-?stock|re-?buy|buy (it |them )?again|order (it |them )?again|running (low|out)|run out|"
    r"my usual|usual (stuff|items|order)|regular (shop|order)|what should (i (buy|get|order)|go in my (basket|cart))|"
    r"\b(same as|the) usual\b(?!\s+(delivery|time|slot|window|price|fee|way|excuses?|problems?|story|mess|delay))|"
    r"\brepeat (items|products|purchases|buys)\b|\b(keep|kept) (ordering|buying)\b|"
    r"what do i need(?! to)|due (for|to)|"
    r"(suggest|recommend|ideas?\b)(?=.*\b(buy|order|get|basket|cart|again|restock|need|often|usual|running|low)))",
    re.IGNORECASE,
)
PROMPT_REORDER_LINES = 3
PROMPT_COMPLEMENT_LINES = 1
_PRODUCT_ID = re.compile(r"\bwith (\S+)$")


class SuggestReorderArgs(ToolArgs):
    limit: int | None = Field(None, ge=1, le=10, description="how many reorder suggestions to show")


def _price(product: Product) -> float | None:
    return float(product.price) if product.price is not None else None


def _card(s: Suggestion, product: Product, kind: str, reason: str) -> dict:
    return {
        "id": product.id,
        "name": product.name,
        "brand": product.brand,
        "size": product.size,
        "price": _price(product),
        "in_stock": (product.stock or 0) > 0,
        "reason": reason,
        "kind": kind,
        "score": s.score,
    }


def _named_reason(reason: str, products: dict[str, Product]) -> str:
    """Complement reasons name the anchor product by id; a shopper needs its name."""
    match = _PRODUCT_ID.search(reason)
    if match and match.group(1) in products:
        return reason[: match.start(1)] + products[match.group(1)].name
    return reason


def cards(rec: Recommendation, products: dict[str, Product], limit: int) -> list[dict]:
    """Reorder items first (the expected-F1 basket, or the best few when it is empty), then complements."""
    chosen = (rec.basket or rec.items)[:limit]
    out = [_card(s, products[s.product_id], "reorder", s.reason) for s in chosen if s.product_id in products]
    out += [
        _card(s, products[s.product_id], "complement", _named_reason(s.reason, products))
        for s in rec.complements[: max(1, limit // 2)]
        if s.product_id in products
    ]
    return out


def _line(card: dict) -> str:
    price = f" ${card['price']:.2f}" if card["price"] is not None else ""
    size = f" ({card['size']})" if card["size"] else ""
    return f"- {card['name']}{size}{price} [{card['id']}]: {card['reason']}"


def as_text(items: list[dict], whole: bool = False) -> str:
    """What the model reads. By default the best few of the cards, which the shopper sees in full beside the
    answer: the answer names the first three suggestions, and every further line was ~45 tokens of every
    reorder prompt, read before the first token. `whole`: every card, for a caller that asked for a number
    of them (a LangChain agent reads only this text)."""
    reorder = [_line(c) for c in items if c["kind"] == "reorder"]
    extra = [_line(c) for c in items if c["kind"] == "complement"]
    if not whole:
        reorder, extra = reorder[:PROMPT_REORDER_LINES], extra[:PROMPT_COMPLEMENT_LINES]
    if not reorder:
        return "No reorder suggestions: the shopper has no completed orders yet."
    text = "Suggested reorders:\n" + "\n".join(reorder)
    if extra:
        text += "\nGoes well with:\n" + "\n".join(extra)
    return text


def reorder_tool(store: Store, model: ReorderModel, clock: Callable[[], datetime], default_limit: int = 5) -> Tool:
    def run(session: ToolSession, args: SuggestReorderArgs) -> ToolResult:
        assert session.customer_id is not None  # the registry refuses anonymous calls first
        limit = args.limit or default_limit
        rec = recommend_for_customer(store, model, session.customer_id, clock(), limit)
        products = store.products_by_id([s.product_id for s in rec.items + rec.complements])
        items = cards(rec, products, limit)
        return ToolResult(as_text(items, whole=args.limit is not None), items)

    return SPEC.with_run(run)


def _answer(result: ToolResult, _subject: dict) -> str:
    names = [i["name"] for i in result.items if i.get("kind") == "reorder"][:3]
    if not names:
        return "You don't have any completed orders yet, so I have no reorder suggestions."
    return f"Based on your past orders, you may want to reorder {listing(names)}."


SPEC = register(
    ToolSpec(
        name=NAME,
        description="Suggest what the signed-in shopper should reorder now, from their purchase history, "
        "with reasons, plus items that go well with them.",
        args=SuggestReorderArgs,
        build=lambda deps: reorder_tool(
            deps.store,
            ReorderModel.load(deps.settings.reorder_model_dir),
            deps.settings.now,
            deps.settings.reorder_limit,
        ),
        returns=(
            "reorder suggestions with reasons, and complements, as cards; the text lists the best 3 and 1 "
            "complement unless `limit` is given, then every card"
        ),
        # a reorder list answers something else than was asked: its phrases call it, the router only above a
        # threshold calibrated to be right 85 % of the time. Its questions read no facts: the suggestions, with
        # their reasons from the shopper's history, come in the tool's result
        route=Route(intent="reorder", pattern=PHRASES, priority=10, classifier=True, precision=0.85, facts=frozenset()),
        needs_customer=True,
        training=Training(
            train=(
                "what should I reorder?",
                "I'm running low, what should I buy again?",
                "reorder my usual stuff",
                "suggest what I need to restock",
                "What do I usually buy that I should order again?",
                "anything I'm due to rebuy?",
                "help me reorder",
                "what should I order again?",
                "Can you suggest a reorder from my usual items?",
                "restock my kitchen please",
                "what am I due to buy again?",
                "hi, I'd like to reorder my usual groceries",
                "fill my trolley with my usual items",
                "put my usual order in the cart",
                "what do I normally buy?",
                "Do I need to top up on anything?",
                "which of my usual items should I get this week?",
                "remind me what I usually order",
                "quick question: what's due for a restock?",
                "I'm low on stuff, what do I usually get?",
                "reorder pls",
                "Same as last time, please. What should I reorder?",
                "help me restock the pantry",
                "What am I likely to need again soon?",
                "any suggestions for my weekly top-up?",
                "Could you make me a restock list from my history?",
            ),
            eval=(
                "Can you recommend what to buy again based on my past orders?",
                "what am I running out of?",
                "time for my regular shop - what should go in my basket?",
            ),
            answer=_answer,
            signed_out="You're not signed in, so I can't see your past orders. Please sign in and I can suggest reorders.",
        ),
    )
)
