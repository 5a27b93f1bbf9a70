"""The `suggest_reorder` tool: the recommender's answer for the signed-in shopper, as text and cards.

The shopper is the session's customer; the arguments only shape the answer (how many items), so a
`customer_id` written by the model or the shopper is dropped before the tool runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import Field

from bot.reorder.recommend import (
    RANKER_FILE, STATS_FILE, ProductStats, Ranker, Recommendation, Suggestion, history_from_rows, now_from,
    recommend_reorder,
)
from bot.assistant.tools.base import Tool, ToolArgs, ToolResult, ToolSession
from retrieval.schema import Product
from retrieval.store import Store

PROMPT_REORDER_LINES = 3
PROMPT_COMPLEMENT_LINES = 1
_PRODUCT_ID = re.compile(r"\bwith (\S+)$")


@dataclass(frozen=True)
class ReorderModel:
    """What the recommender learned from a shop's histories; both parts are optional (heuristics remain)."""

    stats: ProductStats | None = None
    ranker: Ranker | None = None

    @classmethod
    def load(cls, folder: str | Path | None) -> ReorderModel:
        if folder is None:
            return cls()
        folder = Path(folder)
        stats = ProductStats.load(folder / STATS_FILE) if (folder / STATS_FILE).is_file() else None
        ranker = Ranker.load(folder / RANKER_FILE) if (folder / RANKER_FILE).is_file() else None
        return cls(stats, ranker)


class SuggestReorderArgs(ToolArgs):
    limit: int | None = Field(None, ge=1, le=10, description="how many reorder suggestions to show")


def recommend_for_customer(
    store: Store, model: ReorderModel, customer_id: str, moment: datetime, limit: int
) -> Recommendation:
    """The recommender over the customer's own completed purchases, as of `moment`."""
    rows = store.purchase_rows(customer_id)
    history = history_from_rows(rows)
    if not history:
        return Recommendation([], [], [])
    now = now_from(history, _naive(moment), _naive(rows[0][1]))
    return recommend_reorder(history, now, limit=limit, stats=model.stats, ranker=model.ranker)


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


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

    return Tool(
        name="suggest_reorder",
        description="Suggest what the signed-in shopper should reorder now, from their purchase history, "
        "with reasons, plus items that go well with them.",
        args=SuggestReorderArgs,
        run=run,
        needs_customer=True,
    )
