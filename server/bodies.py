"""Request bodies at the HTTP edge: a size cap enforced while a body arrives, and errors that name the wrong field.

The cap wraps ASGI `receive`, before any route or parser sees a byte, so a route never holds more than the limit
plus one chunk of a body: a 50 MiB POST costs the server one chunk of memory, not 50 MiB. A declared
`Content-Length` over the limit is refused before the body is read at all. WebSocket connections pass untouched:
their frames have a limit of their own (`max_frame_bytes`, enforced by uvicorn).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SETTING = "SHOPBOT_MAX_REQUEST_BODY_BYTES"


def too_large_message(limit: int) -> str:
    return f"the request body is too large: the limit is {limit} bytes ({SETTING})"


class BodyTooLarge(HTTPException):
    """The body passed the cap while a route read it.

    An HTTPException because FastAPI's body parsing lets those through as they are (any other error there becomes
    a 400), so the app's handler for this class can answer 413.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))
        self.limit = limit


class BodyLimit:
    """ASGI middleware: refuse HTTP request bodies over `max_bytes` with the response `refuse` makes."""

    def __init__(self, app: ASGIApp, max_bytes: int, refuse: Callable[[], Response]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self.refuse()(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await self.refuse()(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def describe_invalid(errors: Sequence[dict[str, Any]]) -> str:
    """FastAPI's validation errors as one line that names each wrong field, e.g. `text: field required`."""
    return "; ".join(_describe(error) for error in errors) or "the request is not valid"


def _describe(error: dict[str, Any]) -> str:
    where, *path = error.get("loc") or ("body",)
    if error.get("type") == "json_invalid":
        return f"body: not valid JSON ({error.get('ctx', {}).get('error', 'cannot be parsed')})"
    if where == "body" and not path:
        if error.get("type") == "missing":
            return "body: a JSON object is required"
        if error.get("type") in ("model_attributes_type", "dict_type"):
            return "body: must be a JSON object"
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".") or where
    if where != "body":
        field = f"{field} ({where})"
    message = str(error.get("msg", "is not valid"))
    return f"{field}: {message[:1].lower()}{message[1:]}"
