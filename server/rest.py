"""The REST API: one-shot chat, conversations, feedback, agents (the OpenAI-compatible part: openai_api.py).

Errors share the WebSocket protocol's codes, as `{"error": {code, message, retryable}}` with an HTTP
status that says the same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from bot.assistant.conversations import ConversationNotFound, MessageNotFound, NotConversationOwner
from bot.assistant.question import Question
from server.auth import TokenError
from server.context import ServerContext
from server.limits import RateLimiter, SharedRateLimiter
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
    """`status` overrides the code's usual HTTP status (the OpenAI route answers a request it cannot serve with
    400, as OpenAI does)."""

    def __init__(self, code: ErrorCode, message: str, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.status = status or STATUS[code]


def error_response(ctx: ServerContext, exc: ApiError) -> JSONResponse:
    ctx.metrics.errors.labels(exc.code.value).inc()
    body = {"error": {"code": exc.code.value, "message": str(exc), "retryable": exc.retryable}}
    return JSONResponse(body, status_code=exc.status)


async def context(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    await ctx.ready.wait()
    return ctx


async def caller(
    request: Request,
    authorization: str | None = Header(None, include_in_schema=False),
    _declared: HTTPAuthorizationCredentials | None = Security(
        HTTPBearer(
            auto_error=False,
            scheme_name="customerToken",
            description="A customer token (JWT) minted by the shop's backend; none (or `anonymous`): anonymous.",
        )
    ),
) -> Customer | None:
    """The customer of `Authorization: Bearer <token>`; no header (or the key `anonymous`) is anonymous.

    `_declared` only tells OpenAPI about the bearer scheme; the raw header is read here so a token sent without
    the `Bearer` prefix is still checked (and refused) rather than taken for an anonymous visitor.
    """
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


async def owned_conversation(
    ctx: ServerContext, conversation_id: str | None, customer: Customer | None, request: Request | None = None
) -> str:
    """The caller's conversation, or a new one when none is named (rate-limited per customer, or per client
    address for anonymous callers, whose `request` tells them apart; without it anonymous callers are not limited
    here, as one shared count would throttle them all together).

    A new conversation is only named here: it is stored with its first message (`Turns.run`), so a request
    refused later writes nothing. A conversation named earlier but holding no message yet is the caller's again."""
    customer_id = customer.id if customer else None
    try:
        if conversation_id is None:
            if customer is not None or request is not None:
                per_minute = ctx.settings.conversations_per_minute_per_customer
                await check_rate(ctx, request, customer, ctx.conversation_limiter, f"{per_minute} new conversations")
            return ctx.new_conversation_id(customer_id)
        try:
            await asyncio.to_thread(ctx.conversations.check_owner, conversation_id, customer_id)
        except ConversationNotFound:
            owner = ctx.new_conversation_owner(conversation_id, customer_id)
            if owner is None:
                raise
            if not owner:
                raise NotConversationOwner(conversation_id) from None
        return conversation_id
    except NotConversationOwner as exc:
        raise ApiError(ErrorCode.forbidden, "that conversation belongs to someone else") from exc
    except ConversationNotFound as exc:
        raise ApiError(ErrorCode.not_found, f"no conversation {conversation_id!r}") from exc


async def check_rate(
    ctx: ServerContext,
    request: Request | None,
    customer: Customer | None,
    limiter: RateLimiter | SharedRateLimiter | None = None,
    what: str | None = None,
) -> None:
    """Count one request against `limiter` (default: messages) for the customer, or the anonymous caller's
    address; over the limit it is a `rate_limited` error saying `what` (e.g. "30 messages") is allowed."""
    host = request.client.host if request is not None and request.client else None
    if not await (limiter or ctx.customer_limiter).admit(ctx.rate_key(customer, host)):
        what = what or f"{ctx.settings.messages_per_minute_per_customer} messages"
        raise ApiError(ErrorCode.rate_limited, f"at most {what} per minute: wait a moment", True)


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
    await check_rate(ctx, request, customer)
    question = checked(ctx, body.text)
    cid = await owned_conversation(ctx, body.conversation_id, customer, request)
    turn = Turn(cid, customer.id if customer else None, question)
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
    per_minute = ctx.settings.feedback_per_minute_per_customer
    await check_rate(ctx, request, customer, ctx.feedback_limiter, f"{per_minute} ratings")
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
