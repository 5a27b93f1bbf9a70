"""What a WebSocket client sees: time to first token and tokens per second, plus the server's memory.

    shopbot bench probe --url ws://127.0.0.1:8000/v1/chat [--pid PID] [--token TOKEN] [--one-conversation]

Prints one JSON object. Times are measured at the client, from sending the message to the first
`delta` (TTFT) and over the deltas that follow (decode rate from the server's token count).
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import websockets

QUESTIONS = (
    "which cereal is best for kids?",
    "do you sell oat milk?",
    "when will my order arrive?",
    "what do you have for breakfast?",
    "where is my order?",
)


async def one_answer(ws, text: str) -> dict:
    await ws.send(json.dumps({"type": "message", "text": text}))
    sent = time.perf_counter()
    first = last = None
    deltas = 0
    while True:
        event = json.loads(await ws.recv())
        if event["type"] == "delta":
            last = time.perf_counter()
            first = first or last
            deltas += 1
        elif event["type"] == "end":
            tokens = event["usage"]["completion_tokens"]
            decode_s = (last - first) if first and last else 0.0
            return {
                "question": text,
                "ttft_s": round(first - sent, 3) if first else None,
                "tokens": tokens,
                "deltas": deltas,
                "tokens_per_s": round((tokens - 1) / decode_s, 2) if tokens > 1 and decode_s > 0 else None,
                "server_ttft_ms": event["timings"]["ttft_ms"],
            }
        elif event["type"] == "error":
            raise RuntimeError(event["message"])


def rss_mib(pid: int | None) -> float | None:
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


async def conversation(url: str, token: str | None, questions: tuple[str, ...]) -> list[dict]:
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        json.loads(await ws.recv())  # ready
        json.loads(await ws.recv())  # history
        return [await one_answer(ws, q) for q in questions]


async def main(url: str, token: str | None, pid: int | None, one_conversation: bool) -> dict:
    if one_conversation:  # later questions carry the history, so their prompts are longer
        results = await conversation(url, token, QUESTIONS)
    else:
        results = [(await conversation(url, token, (q,)))[0] for q in QUESTIONS]
    ttfts = [r["ttft_s"] for r in results if r["ttft_s"] is not None]
    rates = [r["tokens_per_s"] for r in results if r["tokens_per_s"] is not None]
    return {
        "answers": results,
        "ttft_s_median": round(statistics.median(ttfts), 3) if ttfts else None,
        "tokens_per_s_median": round(statistics.median(rates), 2) if rates else None,
        "server_rss_mib": rss_mib(pid),
    }
