"""The REST API: one-shot chat, the OpenAI-compatible chat completions, conversations, feedback, agents.

Errors share the WebSocket protocol's codes, as `{"error": {code, message, retryable}}` with an HTTP
status that says the same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from bot.assistant.conversations import ConversationNotFound, MessageNotFound, NotConversationOwner
from bot.assistant.question import Question
from server.auth import TokenError
from server.context import ServerContext
from server.protocol import (
    MAX_COMMENT_CHARS,
    MAX_ID_CHARS,
    Citations,
    Customer,
    Delta,
    End,
    Error,
    ErrorCode,
    Event,
    Forwarded,
    Start,
    ToolEvent,
    history_messages,
)
from server.turns import Turn, TurnRefused

router = APIRouter()
ANONYMOUS_KEY = "anonymous"

STATUS = {
    ErrorCode.bad_frame: 422,
    ErrorCode.empty_message: 422,
    ErrorCode.message_too_long: 413,
    ErrorCode.rate_limited: 429,
    ErrorCode.busy: 409,
    ErrorCode.agent_active: 409,
    ErrorCode.overloaded: 503,
    ErrorCode.unauthorized: 401,
    ErrorCode.forbidden: 403,
    ErrorCode.not_found: 404,
    ErrorCode.internal: 500,
}


class ApiError(Exception):
    def __init__(self, code: ErrorCode, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


def error_response(ctx: ServerContext, exc: ApiError) -> JSONResponse:
    ctx.metrics.errors.labels(exc.code.value).inc()
    body = {"error": {"code": exc.code.value, "message": str(exc), "retryable": exc.retryable}}
    return JSONResponse(body, status_code=STATUS[exc.code])


async def context(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    await ctx.ready.wait()
    return ctx


async def caller(request: Request, authorization: str | None = Header(None)) -> Customer | None:
    """The customer of `Authorization: Bearer <token>`; no header (or the key `anonymous`) is anonymous."""
    ctx = await context(request)
    token = (authorization or "").removeprefix("Bearer ").strip()
    if token in ("", ANONYMOUS_KEY):
        return None
    try:
        return await ctx.identify(token)
    except TokenError as exc:
        raise ApiError(ErrorCode.unauthorized, f"{exc}.") from exc


def is_agent(ctx: ServerContext, key: str | None) -> bool:
    expected = ctx.settings.agent_api_key
    return bool(expected and key and hmac.compare_digest(key.encode(), expected.encode()))


async def agent(request: Request, x_agent_key: str | None = Header(None)) -> ServerContext:
    ctx = await context(request)
    if not ctx.settings.agent_api_key:
        raise ApiError(ErrorCode.forbidden, "the agent API is off: set SHOPBOT_AGENT_API_KEY to turn it on")
    if not is_agent(ctx, x_agent_key):
        raise ApiError(ErrorCode.unauthorized, "a valid X-Agent-Key header is required")
    return ctx


async def owned_conversation(ctx: ServerContext, conversation_id: str | None, customer: Customer | None) -> str:
    """The caller's conversation, or a new one when none is named."""
    customer_id = customer.id if customer else None
    try:
        if conversation_id is None:
            return await asyncio.to_thread(ctx.runtime.engine.start, customer_id)
        await asyncio.to_thread(ctx.conversations.check_owner, conversation_id, customer_id)
        return conversation_id
    except NotConversationOwner as exc:
        raise ApiError(ErrorCode.forbidden, "that conversation belongs to someone else") from exc
    except ConversationNotFound as exc:
        raise ApiError(ErrorCode.not_found, f"no conversation {conversation_id!r}") from exc


def check_rate(ctx: ServerContext, request: Request, customer: Customer | None) -> None:
    key = ctx.rate_key(customer, request.client.host if request.client else None)
    if not ctx.customer_limiter.allow(key):
        per_minute = ctx.settings.messages_per_minute_per_customer
        raise ApiError(ErrorCode.rate_limited, f"at most {per_minute} messages per minute: wait a moment", True)


def checked(ctx: ServerContext, text: str) -> Question:
    """The shopper's message checked once, here where it arrives; a broken limit is an API error."""
    try:
        return ctx.turns.question(text)
    except TurnRefused as exc:
        raise ApiError(exc.code, str(exc), exc.retryable) from exc


async def first_event(events: AsyncIterator[Event]) -> Event:
    """The turn's first event, turning a refusal (or a forwarded message) into an API error."""
    try:
        event = await anext(events)
    except TurnRefused as exc:
        await events.aclose()
        raise ApiError(exc.code, str(exc), exc.retryable) from exc
    if isinstance(event, Forwarded):
        await events.aclose()
        raise ApiError(
            ErrorCode.agent_active,
            f"a person from the shop holds this conversation; message {event.message_id} was passed to them",
        )
    return event


class ChatRequest(BaseModel):
    text: str
    conversation_id: str | None = Field(None, max_length=MAX_ID_CHARS)


@router.post("/v1/chat")
async def chat(body: ChatRequest, request: Request, customer: Customer | None = Depends(caller)):
    ctx = await context(request)
    ctx.metrics.messages.labels("rest").inc()
    check_rate(ctx, request, customer)
    cid = await owned_conversation(ctx, body.conversation_id, customer)
    turn = Turn(cid, customer.id if customer else None, checked(ctx, body.text))
    result: dict[str, Any] = {"conversation_id": cid, "text": "", "tools": [], "sources": []}
    async with contextlib.aclosing(ctx.turns.run(turn)) as events:
        event = await first_event(events)
        while True:
            _collect(result, event)
            try:
                event = await anext(events)
            except StopAsyncIteration:
                break
            except TurnRefused as exc:
                raise ApiError(exc.code, str(exc), exc.retryable) from exc
    if "error" in result:
        raise ApiError(ErrorCode.internal, result["error"], True)
    result["text"] = result["text"].strip()
    return result


def _collect(result: dict[str, Any], event: Event) -> None:
    if isinstance(event, Start):
        result["message_id"] = event.message_id
    elif isinstance(event, ToolEvent):
        result["tools"].append({"name": event.name, "items": event.items})
    elif isinstance(event, Citations):
        result["sources"] = event.sources
    elif isinstance(event, Delta):
        result["text"] += event.text
    elif isinstance(event, End):
        result.update(
            finish_reason=event.finish_reason, usage=event.usage.model_dump(), timings=event.timings.model_dump()
        )
    elif isinstance(event, Error):
        result["error"] = event.message


class CompletionMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.get("text", "") for part in self.content if part.get("type") == "text")
        return self.content or ""


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = "shopbot"
    messages: list[CompletionMessage]
    stream: bool = False
    conversation_id: str | None = Field(None, max_length=MAX_ID_CHARS)


@router.post("/v1/chat/completions")
async def chat_completions(body: CompletionRequest, request: Request, customer: Customer | None = Depends(caller)):
    ctx = await context(request)
    ctx.metrics.messages.labels("openai").inc()
    question = next((m.text() for m in reversed(body.messages) if m.role == "user"), None)
    if question is None:
        raise ApiError(ErrorCode.bad_frame, "messages must contain a user message")
    check_rate(ctx, request, customer)
    cid = await owned_conversation(ctx, body.conversation_id, customer)
    events = ctx.turns.run(Turn(cid, customer.id if customer else None, checked(ctx, question)))
    first = await first_event(events)
    headers = {"X-Shopbot-Conversation-Id": cid}
    created = int(time.time())
    if body.stream:
        return StreamingResponse(
            _sse(events, first, body.model, created), media_type="text/event-stream", headers=headers
        )
    result: dict[str, Any] = {"text": "", "tools": [], "sources": []}
    async with contextlib.aclosing(events):
        _collect(result, first)
        async for event in events:
            _collect(result, event)
    if "error" in result:
        raise ApiError(ErrorCode.internal, result["error"], True)
    usage = result.get("usage", {"prompt_tokens": 0, "completion_tokens": 0})
    completion = {
        "id": f"chatcmpl-{result.get('message_id')}",
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result["text"].strip()},
                "finish_reason": _openai_finish(result.get("finish_reason", "stop")),
            }
        ],
        "usage": {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]},
    }
    return JSONResponse(completion, headers=headers)


def _openai_finish(reason: str) -> str:
    return "length" if reason == "length" else "stop"


async def _sse(events: AsyncIterator[Event], first: Event, model: str, created: int) -> AsyncIterator[str]:
    def chunk(message_id: int | None, delta: dict[str, Any], finish: str | None) -> str:
        payload = {
            "id": f"chatcmpl-{message_id}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"

    message_id = first.message_id if isinstance(first, Start) else None
    async with contextlib.aclosing(events):
        yield chunk(message_id, {"role": "assistant", "content": ""}, None)
        async for event in events:
            if isinstance(event, Delta):
                yield chunk(message_id, {"content": event.text}, None)
            elif isinstance(event, End):
                yield chunk(message_id, {}, _openai_finish(event.finish_reason))
            elif isinstance(event, Error):
                yield f"data: {json.dumps({'error': {'code': event.code.value, 'message': event.message}})}\n\n"
    yield "data: [DONE]\n\n"


@router.get("/v1/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: str,
    request: Request,
    x_agent_key: str | None = Header(None),
    authorization: str | None = Header(None),
):
    ctx = await context(request)
    try:
        if is_agent(ctx, x_agent_key):
            stored = await asyncio.to_thread(ctx.conversations.transcript, conversation_id)
            if not stored and not await asyncio.to_thread(ctx.conversations.exists, conversation_id):
                raise ConversationNotFound(conversation_id)
        else:
            customer = await caller(request, authorization)
            stored = await asyncio.to_thread(
                ctx.conversations.messages, conversation_id, customer.id if customer else None
            )
        state = await asyncio.to_thread(ctx.conversations.state, conversation_id)
    except NotConversationOwner as exc:
        raise ApiError(ErrorCode.forbidden, "that conversation belongs to someone else") from exc
    except ConversationNotFound as exc:
        raise ApiError(ErrorCode.not_found, f"no conversation {conversation_id!r}") from exc
    return {
        "conversation_id": conversation_id,
        "state": state.value,
        "messages": [m.model_dump() for m in history_messages(stored)],
    }


class FeedbackRequest(BaseModel):
    message_id: int
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)
    conversation_id: str | None = Field(None, max_length=MAX_ID_CHARS)


@router.post("/v1/feedback", status_code=201)
async def feedback(body: FeedbackRequest, request: Request, customer: Customer | None = Depends(caller)):
    ctx = await context(request)
    customer_id = customer.id if customer else None
    try:
        conversation_id = body.conversation_id
        if conversation_id is None and customer_id is not None:
            conversation_id = await asyncio.to_thread(ctx.conversations.conversation_of, body.message_id)
        await asyncio.to_thread(
            ctx.conversations.add_feedback,
            body.message_id,
            customer_id,
            body.rating,
            body.comment,
            conversation_id=conversation_id,
        )
    except MessageNotFound as exc:
        raise ApiError(ErrorCode.not_found, str(exc)) from exc
    except NotConversationOwner as exc:
        raise ApiError(ErrorCode.forbidden, "you can only rate answers in your own conversations") from exc
    ctx.metrics.feedback.labels(body.rating).inc()
    return {"message_id": body.message_id, "rating": body.rating}


class AgentMessageRequest(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)
    agent_name: str | None = Field(None, max_length=100)


@router.post("/v1/conversations/{conversation_id}/agent-messages", status_code=201)
async def agent_message(conversation_id: str, body: AgentMessageRequest, ctx: ServerContext = Depends(agent)):
    try:
        message_id = await ctx.handoff.agent_message(conversation_id, body.text, body.agent_name)
    except ConversationNotFound as exc:
        raise ApiError(ErrorCode.not_found, f"no conversation {conversation_id!r}") from exc
    return {"conversation_id": conversation_id, "message_id": message_id, "state": "agent"}


@router.post("/v1/conversations/{conversation_id}/release")
async def release(conversation_id: str, ctx: ServerContext = Depends(agent)):
    try:
        await ctx.handoff.release(conversation_id)
    except ConversationNotFound as exc:
        raise ApiError(ErrorCode.not_found, f"no conversation {conversation_id!r}") from exc
    return {"conversation_id": conversation_id, "state": "bot"}
