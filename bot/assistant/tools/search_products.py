"""The `search_products` tool: the shop's catalog search (FAISS + BM25), as product lines and cards.

It reads only the catalog, so anonymous visitors may use it too.
"""

from __future__ import annotations

from pydantic import Field

from bot.assistant.prompt import format_price, product_line
from bot.assistant.tools.base import Tool, ToolArgs, ToolResult, ToolSession
from retrieval.retriever import Retriever
from retrieval.schema import Product
from retrieval.store import Store

SEARCH_PRODUCTS_TOOL = "search_products"


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

    return Tool(
        name=SEARCH_PRODUCTS_TOOL,
        description="Search the shop's products by what the shopper describes.",
        args=SearchProductsArgs,
        run=run,
    )
