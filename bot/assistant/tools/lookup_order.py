"""The `lookup_order` tool: the signed-in shopper's own orders, one by number or the newest few.

Orders come only from `Store.customer_orders` for the session's customer, so an order number that
belongs to someone else reads exactly like one that does not exist.
"""

from __future__ import annotations

from pydantic import Field

from bot.assistant.prompt import order_line
from bot.assistant.tools.base import Tool, ToolArgs, ToolResult, ToolSession
from retrieval.store import OrderView, Store

LOOKUP_ORDER_TOOL = "lookup_order"


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

    return Tool(
        name=LOOKUP_ORDER_TOOL,
        description="Look up the signed-in shopper's own order by number, or their newest orders.",
        args=LookupOrderArgs,
        run=run,
        needs_customer=True,
    )
