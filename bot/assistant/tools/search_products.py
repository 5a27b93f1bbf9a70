"""The `search_products` tool: the shop's catalog search (FAISS + BM25), as product lines and cards.

It reads only the catalog, so anonymous visitors may use it too.
"""

from __future__ import annotations

from pydantic import Field

from bot.assistant.prompt import PRODUCTS, format_price, listing, product_line
from bot.assistant.tools import register
from bot.assistant.tools.base import Route, Tool, ToolArgs, ToolResult, ToolSession, ToolSpec, Training
from retrieval.retriever import Retriever
from retrieval.schema import Product
from retrieval.store import Store

NAME = "search_products"
QUERIES_TRAIN = (
    "vegan",
    "gluten-free",
    "snack",
    "breakfast",
    "dairy-free",
    "pasta",
    "coffee",
    "cleaning",
    "fruit",
    "organic",
    "high-protein",
    "frozen",
    "bread",
    "baby",
    "tea",
    "vegetarian",
    "halal",
    "keto",
    "low-sugar",
    "lactose-free",
    "cereal",
    "rice",
    "chocolate",
    "seafood",
    "spicy",
    "pet",
    "fair-trade",
)
QUERIES_EVAL = ("nut-free", "cheese", "kosher", "juice", "soup")


class SearchProductsArgs(ToolArgs):
    query: str = Field(..., min_length=1, max_length=200, description="what the shopper is looking for")
    max_results: int = Field(5, ge=1, le=10, description="how many products to return")


def product_card(p: Product) -> dict:
    return {
        "id": p.id,
        "name": p.name,
        "brand": p.brand,
        "size": p.size,
        "price": float(p.price) if p.price is not None else None,
        "price_text": format_price(p.price),
        "in_stock": (p.stock or 0) > 0,
    }


def search_products_tool(store: Store, retriever: Retriever) -> Tool:
    def run(_session: ToolSession, args: SearchProductsArgs) -> ToolResult:
        ids = [h.doc.source_id for h in retriever.search(args.query, "products", args.max_results)]
        by_id = store.products_by_id(ids)
        found = [by_id[i] for i in ids if i in by_id]
        if not found:
            return ToolResult(f"No products match {args.query!r}.")
        return ToolResult("\n".join(product_line(p) for p in found), [product_card(p) for p in found])

    return SPEC.with_run(run)


def _answer(result: ToolResult, subject: dict) -> str:
    if not result.items:
        return (
            f"I'm sorry, I don't have information about {subject['query']} products right now. "
            "Would you like me to connect you with a person?"
        )
    shown = [f"{i['name']} ({i['price_text']})" for i in result.items[:3]]
    return f"Here are some {subject['query']} options: {listing(shown)}."


SPEC = register(
    ToolSpec(
        name=NAME,
        description="Search the shop's products by what the shopper describes.",
        args=SearchProductsArgs,
        build=lambda deps: search_products_tool(deps.store, deps.retriever),
        returns=("catalog search hits (FAISS + BM25) as product lines and cards"),
        # a wrong call costs the shopper nothing (a catalog search), so the classifier may pick it
        route=Route(
            intent="search", classifier=True, arguments=lambda text: {"query": text[:200]}, facts=frozenset({PRODUCTS})
        ),
        training=Training(
            train=(
                "show me some {query} products",
                "what {query} options do you have?",
                "search for {query}",
                "I'm looking for {query}",
                "find me {query}",
                "Do you have anything {query}?",
                "hi, what {query} products do you sell?",
                "show me {query} stuff",
                "list your {query} range",
                "any {query} options?",
                "what do you have in {query}?",
                "Can you recommend some {query} products?",
                "search: {query}",
                "{query} products please",
                "Excuse me, where are your {query} products?",
                "what {query} things do you sell",
                "quick question: do you stock {query} products?",
                "show me what you've got for {query}",
                "I'm after {query} products, what's available?",
                "recommend {query} options pls",
                "Which {query} products are in stock?",
                "help me find {query} products",
                "list {query} products",
                "what's in your {query} section?",
                "Show me the {query} selection, thanks.",
                "I want {query} products asap",
            ),
            eval=("Got any {query} items?", "I'd like to browse {query}"),
            call=lambda subject: {"query": subject["query"], "max_results": 3},
            answer=_answer,
            subject=lambda rng, held_out: {"query": rng.choice(QUERIES_EVAL if held_out else QUERIES_TRAIN)},
        ),
    )
)
