"""The in-terminal chat: a shopper's session over the engine, interactive or piped."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator

from rich.console import Console

from bot.assistant.engine import ChatEngine, Reply
from bot.assistant.events import Text, ToolCalled, TurnEvent
from bot.assistant.question import MessageRejected

COMMANDS_HELP = "/reset starts a new conversation, /quit leaves"


def lines_from(console: Console, interactive: bool) -> Iterable[str]:
    if not interactive:
        yield from (line.rstrip("\n") for line in sys.stdin)
        return
    while True:
        try:
            yield console.input("[bold green]you>[/] ")
        except (EOFError, KeyboardInterrupt):
            return


def item_line(item: dict) -> str:
    """One tool item as a line: reorder cards, products, orders and handoff reasons each read naturally."""
    if "order_id" in item:
        bits = [item["status"]]
        if item.get("tracking_number"):
            bits.append(f"{item.get('carrier') or 'tracking'} {item['tracking_number']}")
        if item.get("delivered_at"):
            bits.append(f"delivered {item['delivered_at']}")
        elif item.get("estimated_delivery"):
            bits.append(f"expected {item['estimated_delivery']}")
        return f"order {item['order_id']}: " + ", ".join(bits)
    if "name" not in item:
        return ", ".join(f"{k}: {v}" for k, v in item.items())
    price = f" ${item['price']:.2f}" if item.get("price") is not None else ""
    label = {"complement": "goes well with", "reorder": "reorder"}.get(item.get("kind"), "product")
    line = f"{label}: {item['name']}{price} ({item['id']})"
    return line + f": {item['reason']}" if item.get("reason") else line


def show_tool_items(results, out) -> None:
    """Tool results reach the shopper as cards in a UI; here, one line per item."""
    for name, result in results:
        if not result.items:
            continue
        out.write(f"[{name}]\n")
        for item in result.items:
            out.write(f"  {item_line(item)}\n")


def _events(reply: Reply) -> Iterator[TurnEvent]:
    yield from reply.prelude
    yield from reply.events()


def show_reply(console: Console, reply: Reply, out=sys.stdout) -> None:
    """Tool items are printed as soon as the engine reports the tool: before the answer, or between its pieces."""
    answering = False
    try:
        for event in _events(reply):
            if isinstance(event, ToolCalled) and event.result.items:
                if answering:
                    out.write("\n")
                show_tool_items([(event.name, event.result)], out)
                if answering:
                    out.write("bot> ")
            elif isinstance(event, Text):
                if not answering:
                    out.write("bot> ")
                    answering = True
                out.write(event.text)
                out.flush()
    finally:
        reply.close()
    if not answering:
        out.write("bot> ")
    out.write("\n")
    if reply.sources:
        used = ", ".join(f"{s['type']} {s['id']} ({s['title']})" for s in reply.sources)
        console.print(f"[dim]used: {used}[/]", highlight=False)
    st = reply.stats
    console.print(
        f"[dim]{st.completion_tokens} tokens, first token {st.ttft_s or 0:.2f} s, "
        f"{st.decode_tokens_per_s:.1f} tokens/s[/]",
        highlight=False,
    )


def run_chat(engine: ChatEngine, customer_id: str | None, *, interactive: bool, console: Console) -> int:
    conversation_id = engine.start(customer_id)
    if interactive:
        who = f"customer {customer_id}" if customer_id else "an anonymous visitor"
        console.print(f"[bold]{engine.settings.shop_name}[/] chat as {who} ({COMMANDS_HELP})")
    for line in lines_from(console, interactive):
        text = line.strip()
        if not text:
            continue
        if text == "/quit":
            break
        if text == "/reset":
            conversation_id = engine.start(customer_id)
            console.print("[dim]new conversation[/]")
            continue
        try:
            reply = engine.reply(conversation_id, customer_id, text)
        except MessageRejected as exc:
            console.print(f"[red]{exc}[/]")
            continue
        show_reply(console, reply)
    return 0
