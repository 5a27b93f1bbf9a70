"""The OpenAI-compatible surface: `POST /v1/chat/completions` and `GET /v1/models`, so OpenAI SDK clients (and
LangChain's `ChatOpenAI`) talk to the shop assistant unchanged.

Where it differs from OpenAI, it says so with a 400 in the documented error shape rather than quietly doing
something else: the shop's own tools run on the server for the signed-in shopper, so tools a client declares are
refused; one answer is written per request (`n` > 1 refused). A stateless client's earlier `user` and
`assistant` messages become the new conversation's history; `system` messages are ignored, because the shop's
rules, facts and the shopper's identity (the bearer token alone) are set by the server, never by a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from bot.assistant.conversations import Conversations
from server.protocol import MAX_ID_CHARS, Customer, Delta, End, Error, ErrorCode, Event, Start
from server.rest import ApiError, caller, check_rate, checked, context, first_event, owned_conversation
from server.turns import Turn

router = APIRouter()
MODEL_ID = "shopbot"
MODEL_CREATED = int(time.time())
BAD_REQUEST = 400
IGNORED_ROLES = ("system", "developer")
CLIENT_TOOLS = (
    "the shop's own tools run on the server for the signed-in shopper; tools declared by a client are not supported"
)


def refused(message: str) -> ApiError:
    """A request this route cannot serve as asked: 400 `bad_frame`, as OpenAI answers an invalid request."""
    return ApiError(ErrorCode.bad_frame, message, status=BAD_REQUEST)


def model_card() -> dict[str, Any]:
    return {"id": MODEL_ID, "object": "model", "created": MODEL_CREATED, "owned_by": "shopbot"}


@router.get("/v1/models")
async def list_models(customer: Customer | None = Depends(caller)):
    return {"object": "list", "data": [model_card()]}


@router.get("/v1/models/{model_id}")
async def get_model(model_id: str, customer: Customer | None = Depends(caller)):
    if model_id != MODEL_ID:
        raise ApiError(ErrorCode.not_found, f"no model {model_id!r}: this server serves {MODEL_ID!r}")
    return model_card()


class CompletionMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self, index: int) -> str:
        if not isinstance(self.content, list):
            return self.content or ""
        kinds = sorted({str(part.get("type")) for part in self.content} - {"text"})
        if kinds:
            raise refused(f"messages[{index}] has {', '.join(kinds)} content: only text is supported")
        return "".join(str(part.get("text", "")) for part in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = MODEL_ID
    messages: list[CompletionMessage]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    n: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    functions: list[dict[str, Any]] | None = None
    function_call: str | dict[str, Any] | None = None
    conversation_id: str | None = Field(None, max_length=MAX_ID_CHARS)

    def refusal(self) -> ApiError | None:
        """What this request asks that shopbot does not do, as the error to answer with."""
        if self.tools or self.functions:
            return refused(f"tools: {CLIENT_TOOLS}; send the request without tools")
        if self.tool_choice not in (None, "none", "auto") or self.function_call not in (None, "none", "auto"):
            return refused(f"tool_choice: no tool can be chosen, {CLIENT_TOOLS}")
        if self.n not in (None, 1):
            return refused(f"n={self.n}: shopbot writes one answer per request; leave n out or set it to 1")
        for name in ("max_tokens", "max_completion_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                return refused(f"{name}={value}: at least 1 token")
        if self.stream_options is not None and not self.stream:
            return refused("stream_options: only allowed with stream=true")
        return None

    def token_cap(self) -> int | None:
        caps = [c for c in (self.max_tokens, self.max_completion_tokens) if c is not None]
        return min(caps) if caps else None

    def dialogue(self) -> tuple[list[tuple[str, str]], str]:
        """The earlier user and assistant messages, oldest first, and the question (the last message)."""
        said: list[tuple[str, str]] = []
        for index, message in enumerate(self.messages):
            if message.role in IGNORED_ROLES:
                continue
            if message.role in ("tool", "function"):
                raise refused(f"messages[{index}] has role {message.role!r}: {CLIENT_TOOLS}")
            if message.role not in ("user", "assistant"):
                raise refused(
                    f"messages[{index}] has role {message.role!r}: use user and assistant (system is ignored)"
                )
            said.append((message.role, message.text(index)))
        if not said or said[-1][0] != "user":
            raise refused("messages must end with a user message: the question to answer")
        *earlier, (_, question) = said
        return [(role, text) for role, text in earlier if text.strip()], question


@router.post("/v1/chat/completions")
async def chat_completions(body: CompletionRequest, request: Request, customer: Customer | None = Depends(caller)):
    ctx = await context(request)
    ctx.metrics.messages.labels("openai").inc()
    if (refusal := body.refusal()) is not None:
        raise refusal
    earlier, text = body.dialogue()
    question = checked(ctx, text)
    await check_rate(ctx, request, customer)
    customer_id = customer.id if customer else None
    cid = await owned_conversation(ctx, body.conversation_id, customer, request)
    kept = earlier[-ctx.settings.max_history_messages :] if ctx.settings.max_history_messages else []
    if body.conversation_id is None and kept:
        await asyncio.to_thread(_open_with_history, ctx.conversations, cid, customer_id, kept)
    events = ctx.turns.run(Turn(cid, customer_id, question, max_new_tokens=body.token_cap()))
    first = await first_event(events)
    headers = {"X-Shopbot-Conversation-Id": cid}
    created = int(time.time())
    if body.stream:
        usage = body.stream_options is not None and body.stream_options.include_usage
        return StreamingResponse(
            _sse(events, first, body.model, created, usage), media_type="text/event-stream", headers=headers
        )
    async with contextlib.aclosing(events):
        answer = await _Answer.read(first, events)
    return JSONResponse(answer.completion(body.model, created), headers=headers)


def _open_with_history(
    conversations: Conversations, cid: str, customer_id: str | None, earlier: list[tuple[str, str]]
) -> None:
    """Store the new conversation with the client's earlier messages, so the turn reads them as its history
    (trimmed to the prompt budget like any other); marked as the request's, not the shop's own words. Without
    them the turn stores the conversation with its first message."""
    conversations.open(cid, customer_id)
    for role, text in earlier:
        conversations.append(cid, role, text, meta={"from_request": True})


class _Answer:
    """A turn's events gathered into one answer."""

    def __init__(self) -> None:
        self.message_id: int | None = None
        self.text = ""
        self.end: End | None = None

    @classmethod
    async def read(cls, first: Event, events: AsyncIterator[Event]) -> _Answer:
        answer = cls()
        event: Event | None = first
        while event is not None:
            if isinstance(event, Start):
                answer.message_id = event.message_id
            elif isinstance(event, Delta):
                answer.text += event.text
            elif isinstance(event, End):
                answer.end = event
            elif isinstance(event, Error):
                raise ApiError(ErrorCode.internal, event.message, True)
            event = await anext(events, None)
        return answer

    def completion(self, model: str, created: int) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{self.message_id}",
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.text.strip()},
                    "finish_reason": openai_finish(self.end.finish_reason if self.end else "stop"),
                }
            ],
            "usage": openai_usage(self.end),
        }


def openai_finish(reason: str) -> str:
    """OpenAI's finish reasons: `length` when the token cap cut the answer, else `stop` (an answer in fixed
    words, a finished one, one whose client went away)."""
    return "length" if reason == "length" else "stop"


def openai_usage(end: End | None) -> dict[str, int]:
    prompt, completion = (end.usage.prompt_tokens, end.usage.completion_tokens) if end else (0, 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


async def _sse(
    events: AsyncIterator[Event], first: Event, model: str, created: int, include_usage: bool
) -> AsyncIterator[str]:
    """`chat.completion.chunk` events, then (with `stream_options.include_usage`) one chunk with no choices
    and the usage, then `[DONE]`, as OpenAI streams."""
    message_id = first.message_id if isinstance(first, Start) else None

    def chunk(choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> str:
        payload: dict[str, Any] = {
            "id": f"chatcmpl-{message_id}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
        }
        if include_usage:
            payload["usage"] = usage
        return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "finish_reason": finish}]

    end: End | None = None
    async with contextlib.aclosing(events):
        yield chunk(choice({"role": "assistant", "content": ""}))
        async for event in events:
            if isinstance(event, Delta):
                yield chunk(choice({"content": event.text}))
            elif isinstance(event, End):
                end = event
                yield chunk(choice({}, openai_finish(event.finish_reason)))
            elif isinstance(event, Error):
                yield f"data: {json.dumps({'error': {'code': event.code.value, 'message': event.message}})}\n\n"
    if include_usage and end is not None:
        yield chunk([], openai_usage(end))
    yield "data: [DONE]\n\n"
