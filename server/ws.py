"""The WebSocket transport of protocol v1: origin check, the read loop, the idle watchdog."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import WebSocket, WebSocketDisconnect

from server.context import ServerContext
from server.protocol import CloseCode
from server.session import Connection


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """Same-origin pages and the allow-list may connect; clients that send no Origin are not browsers."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    own = f"{scheme}://{websocket.headers.get('host', '')}"
    return origin.rstrip("/") in {own, *(o.rstrip("/") for o in allowed)}


async def chat_socket(websocket: WebSocket) -> None:
    ctx: ServerContext = websocket.app.state.ctx
    await websocket.accept()
    if not origin_allowed(websocket, ctx.settings.allowed_origins):
        ctx.metrics.errors.labels("origin").inc()
        await websocket.close(int(CloseCode.policy), "origin not allowed")
        return
    ctx.metrics.ws_connections.inc()
    ctx.metrics.ws_connections_total.inc()
    connection = Connection(
        ctx,
        send=websocket.send_json,
        close=lambda code, reason: websocket.close(code, reason),
        client_host=websocket.client.host if websocket.client else None,
    )
    reader = asyncio.create_task(_read(websocket, connection))
    watchdog = asyncio.create_task(_watch_idle(connection, ctx.settings.idle_timeout_s))
    try:
        await asyncio.wait({reader, watchdog}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reader, watchdog):
            task.cancel()
        await asyncio.gather(reader, watchdog, return_exceptions=True)
        await connection.closed()
        ctx.metrics.ws_connections.dec()


async def _read(websocket: WebSocket, connection: Connection) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                return
            if frame.get("text") is not None:
                await connection.receive_text(frame["text"])
            else:
                await connection.receive_binary()


async def _watch_idle(connection: Connection, idle_timeout_s: float) -> None:
    while True:
        remaining = idle_timeout_s - connection.idle_for()
        if remaining <= 0:
            await connection.close(CloseCode.normal, "idle timeout")
            return
        await asyncio.sleep(remaining)
