"""The in-terminal chat: a shopper's session over the engine, interactive or piped."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from rich.console import Console

from bot.engine import ChatEngine, MessageRejected, Reply

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


def show_tool_items(reply: Reply, out) -> None:
    """Tool results reach the shopper as cards in a UI; here, one line per item, before the answer."""
    for name, result in reply.tool_results:
        if not result.items:
            continue
        out.write(f"[{name}]\n")
        for item in result.items:
            price = f" ${item['price']:.2f}" if item.get("price") is not None else ""
            label = "goes well with" if item.get("kind") == "complement" else "reorder"
            out.write(f"  {label}: {item['name']}{price} ({item['id']}): {item['reason']}\n")


def show_reply(console: Console, reply: Reply, out=sys.stdout) -> None:
    show_tool_items(reply, out)
    out.write("bot> ")
    out.flush()
    for piece in reply:
        out.write(piece)
        out.flush()
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
