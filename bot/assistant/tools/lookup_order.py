"""The `lookup_order` tool: the signed-in shopper's own orders, one by number or the newest few.

Orders come only from `Store.customer_orders` for the session's customer, so an order number that
belongs to someone else reads exactly like one that does not exist.
"""

from __future__ import annotations

from pydantic import Field

from bot.assistant.prompt import ORDERS, order_line
from bot.assistant.tools import register
from bot.assistant.tools.base import Route, Tool, ToolArgs, ToolResult, ToolSession, ToolSpec, Training
from retrieval.store import OrderView, Store

NAME = "lookup_order"


class LookupOrderArgs(ToolArgs):
    order_id: str | None = Field(None, max_length=40, description="the order number; empty for the newest orders")


def order_card(o: OrderView) -> dict:
    return {
        "order_id": o.id,
        "name": f"Order {o.id}",
        "status": o.status,
        "placed_at": o.placed_at,
        "carrier": o.carrier,
        "tracking_number": o.tracking_number,
        "estimated_delivery": o.estimated_delivery,
        "delivered_at": o.delivered_at,
        "total": o.total,
    }


def lookup_order_tool(store: Store, newest: int = 3) -> Tool:
    def run(session: ToolSession, args: LookupOrderArgs) -> ToolResult:
        assert session.customer_id is not None  # the registry refuses anonymous calls first
        orders = store.customer_orders(session.customer_id)
        if args.order_id:
            wanted = args.order_id.strip().lstrip("#")
            orders = [o for o in orders if o.id == wanted]
            if not orders:
                return ToolResult(f"There is no order {wanted} on this shopper's account.")
        else:
            orders = orders[:newest]
            if not orders:
                return ToolResult("The shopper has no orders.")
        return ToolResult("\n".join(order_line(o) for o in orders), [order_card(o) for o in orders])

    return SPEC.with_run(run)


def _answer(result: ToolResult, _subject: dict) -> str:
    if not result.items:
        return "You don't have any orders yet."
    return "Your recent orders: " + "; ".join(f"{i['order_id']} ({i['status']})" for i in result.items) + "."


SPEC = register(
    ToolSpec(
        name=NAME,
        description="Look up the signed-in shopper's own order by number, or their newest orders.",
        args=LookupOrderArgs,
        build=lambda deps: lookup_order_tool(deps.store, deps.settings.lookup_order_limit),
        returns=(
            "that order of the session's shopper, or their newest orders; someone else's order number reads as "
            '"no order on this account"'
        ),
        # a wrong call costs the shopper nothing (their own orders), so the classifier may pick it
        route=Route(intent="order_history", classifier=True, facts=frozenset({ORDERS})),
        needs_customer=True,
        training=Training(
            train=(
                "show me my orders",
                "list my recent orders",
                "what have I ordered lately?",
                "my order history please",
                "Can you show me all my orders?",
                "show my order history",
                "what did I buy last time?",
                "list all my orders please",
                "Can I see my previous orders?",
                "hi, what have I bought from you before?",
                "what's in my order history?",
                "my orders",
                "show me everything I've ordered",
                "Could you list my last few orders, please?",
                "what were my last three orders?",
                "what have i ordered this year",
                "display my purchase history",
                "quick question: how many orders have I made?",
                "Excuse me, can you show me a list of my orders?",
                "I'd like to see my order history, thanks",
                "what did I get in my previous orders?",
                "all my orders pls",
                "show me my older orders",
                "Which orders do I have with you?",
                "have I ordered from you before? show me",
                "previous orders asap",
            ),
            eval=("What orders have I placed recently?", "pull up my past purchases"),
            answer=_answer,
        ),
    )
)
