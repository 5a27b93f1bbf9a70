"""One WebSocket connection's protocol state machine, independent of the transport.

awaiting_hello --hello--> ready --message--> answering --end--> ready;  any --close--> closed.
Only `hello` is accepted before ready; identity is fixed by the hello's token for the connection's life.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable

from bot.assistant.conversations import ConversationNotFound, MessageNotFound, NotConversationOwner
from retrieval.schema import ConversationState
from server.auth import TokenError
from server.context import ServerContext
from server.limits import RateLimiter
from server.protocol import (
    CloseCode,
    Customer,
    Error,
    ErrorCode,
    Event,
    FeedbackMessage,
    FeedbackOk,
    Hello,
    History,
    Ping,
    Pong,
    ProtocolError,
    Ready,
    Stop,
    UserMessage,
    history_messages,
    parse_client,
)
from server.turns import Turn, TurnRefused

log = logging.getLogger(__name__)


class ConnectionState(str, enum.Enum):
    awaiting_hello = "awaiting_hello"
    ready = "ready"
    answering = "answering"
    closed = "closed"


SendJson = Callable[[dict], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]


class Connection:
    def __init__(self, ctx: ServerContext, send: SendJson, close: Close, client_host: str | None) -> None:
        self.ctx = ctx
        self._send = send
        self._close = close
        self.client_host = client_host
        self.state = ConnectionState.awaiting_hello
        self.customer: Customer | None = None
        self.conversation_id: str | None = None
        self.last_activity = time.monotonic()
        self._limiter = RateLimiter(ctx.settings.messages_per_minute_per_connection)
        self._send_lock = asyncio.Lock()
        self._turn: Turn | None = None
        self._turn_task: asyncio.Task | None = None

    @property
    def customer_id(self) -> str | None:
        return self.customer.id if self.customer else None

    def idle_for(self) -> float:
        if self.state is ConnectionState.answering:
            self.last_activity = time.monotonic()
        return time.monotonic() - self.last_activity

    async def emit(self, event: Event) -> None:
        if self.state is ConnectionState.closed:
            return
        if isinstance(event, Error):
            self.ctx.metrics.errors.labels(event.code.value).inc()
        async with self._send_lock:
            try:
                await self._send(event.dump())
            except Exception:  # the peer is gone; the reader notices and closes the connection
                log.debug("could not send %s", event.type, exc_info=True)

    async def error(
        self, code: ErrorCode, message: str, *, retryable: bool = False, client_msg_id: str | None = None
    ) -> None:
        await self.emit(
            Error(
                conversation_id=self.conversation_id,
                code=code,
                message=message,
                retryable=retryable,
                client_msg_id=client_msg_id,
            )
        )

    async def close(self, code: CloseCode, reason: str) -> None:
        if self.state is ConnectionState.closed:
            return
        await self.closed()
        with contextlib.suppress(Exception):
            await self._close(int(code), reason)

    async def receive_text(self, raw: str) -> None:
        if len(raw.encode()) > self.ctx.settings.max_frame_bytes:
            await self.close(CloseCode.too_big, "frame too big")
            return
        try:
            message = parse_client(raw)
        except ProtocolError as exc:
            await self.error(ErrorCode.bad_frame, str(exc))
            return
        if not isinstance(message, Ping):
            self.last_activity = time.monotonic()
        if self.state is ConnectionState.awaiting_hello and not isinstance(message, Hello):
            await self.error(ErrorCode.bad_frame, "the first frame must be a hello")
            return
        handler = {
            Hello: self._hello,
            UserMessage: self._message,
            Stop: self._stop,
            FeedbackMessage: self._feedback,
            Ping: self._ping,
        }[type(message)]
        try:
            await handler(message)
        except Exception:  # a bug or a database failure must not drop the shopper's connection
            log.exception("handling %s failed", message.type)
            await self.error(ErrorCode.internal, "Something went wrong on our side; please try again.", retryable=True)

    async def receive_binary(self) -> None:
        await self.error(ErrorCode.bad_frame, "binary frames are not part of the protocol: send JSON text frames")

    async def _hello(self, hello: Hello) -> None:
        if self.state is not ConnectionState.awaiting_hello:
            await self.error(ErrorCode.bad_frame, "hello was already sent on this connection")
            return
        await self.ctx.ready.wait()
        try:
            self.customer = await self.ctx.identify(hello.token)
        except TokenError as exc:
            await self.error(ErrorCode.unauthorized, f"{exc}.")
            await self.close(CloseCode.policy, "unauthorized")
            return
        if not await self.ctx.hello_limiter.admit(self.ctx.rate_key(self.customer, self.client_host)):
            per_minute = self.ctx.settings.hellos_per_minute_per_customer
            await self.error(
                ErrorCode.rate_limited,
                f"Too many chats opened: at most {per_minute} per minute. Please wait a moment.",
                retryable=True,
            )
            await self.close(CloseCode.overloaded, "rate limited")
            return
        conversations = self.ctx.conversations
        cid = hello.conversation_id or self.ctx.new_conversation_id(self.customer_id)
        stored_state: ConversationState | None = None  # None: not stored yet, nothing to read
        stored = []
        try:
            if hello.conversation_id:
                stored_state = await asyncio.to_thread(self._resume, cid)
            if stored_state is not None:
                stored = await asyncio.to_thread(conversations.messages, cid, self.customer_id)
        except NotConversationOwner:
            await self.error(ErrorCode.forbidden, "That conversation belongs to someone else: start a new one.")
            await self.close(CloseCode.policy, "forbidden")
            return
        except ConversationNotFound:
            await self.error(ErrorCode.not_found, "That conversation does not exist: start a new one.")
            await self.close(CloseCode.policy, "not found")
            return
        self.conversation_id = cid
        self.state = ConnectionState.ready
        self.ctx.hub.subscribe(cid, self.emit)
        state = stored_state or ConversationState.bot
        await self.emit(Ready(conversation_id=cid, customer=self.customer, state=state.value))
        await self.emit(History(conversation_id=cid, messages=history_messages(stored)))

    def _resume(self, conversation_id: str) -> ConversationState | None:
        """The state of the shopper's stored conversation; None for one of theirs that `hello` named earlier and
        that holds no message yet (so it is not stored); raises for anyone else's or an unknown one."""
        conversations = self.ctx.conversations
        try:
            conversations.check_owner(conversation_id, self.customer_id)
        except ConversationNotFound:
            owner = self.ctx.new_conversation_owner(conversation_id, self.customer_id)
            if owner is None:
                raise
            if not owner:
                raise NotConversationOwner(f"conversation {conversation_id!r} belongs to another shopper") from None
            return None
        return conversations.state(conversation_id)

    async def _message(self, message: UserMessage) -> None:
        self.ctx.metrics.messages.labels("ws").inc()
        cmid = message.client_msg_id
        per_minute = None
        if not self._limiter.allow(None):
            per_minute = self.ctx.settings.messages_per_minute_per_connection
        elif not await self.ctx.customer_limiter.admit(self.ctx.rate_key(self.customer, self.client_host)):
            per_minute = self.ctx.settings.messages_per_minute_per_customer
        if per_minute is not None:
            await self.error(
                ErrorCode.rate_limited,
                f"You're sending messages too quickly: at most {per_minute} per minute. Please wait a moment.",
                retryable=True,
                client_msg_id=cmid,
            )
            return
        try:
            question = self.ctx.turns.question(message.text)
        except TurnRefused as exc:
            await self.error(exc.code, str(exc), retryable=exc.retryable, client_msg_id=cmid)
            return
        turn = Turn(self.conversation_id, self.customer_id, question, cmid)
        if self.state is ConnectionState.answering:
            await self.error(
                ErrorCode.busy,
                "An answer is still being written: wait for it or send stop.",
                retryable=True,
                client_msg_id=cmid,
            )
            return
        self.state = ConnectionState.answering
        self._turn = turn
        self._turn_task = asyncio.create_task(self._answer(turn))

    async def _answer(self, turn: Turn) -> None:
        try:
            async with contextlib.aclosing(self.ctx.turns.run(turn)) as events:
                async for event in events:
                    await self.emit(event)
        except TurnRefused as exc:
            await self.error(exc.code, str(exc), retryable=exc.retryable, client_msg_id=turn.client_msg_id)
            if exc.code is ErrorCode.overloaded:
                await self.close(CloseCode.overloaded, "overloaded")
        except Exception:
            log.exception("answering failed")
            await self.error(
                ErrorCode.internal, "Something went wrong while answering; please try again.", retryable=True
            )
        finally:
            self._turn = None
            if self.state is ConnectionState.answering:
                self.state = ConnectionState.ready
            self.last_activity = time.monotonic()

    async def _stop(self, _: Stop) -> None:
        if self._turn is not None:
            self._turn.stop()

    async def _feedback(self, feedback: FeedbackMessage) -> None:
        if not await self.ctx.feedback_limiter.admit(self.ctx.rate_key(self.customer, self.client_host)):
            per_minute = self.ctx.settings.feedback_per_minute_per_customer
            await self.error(
                ErrorCode.rate_limited,
                f"You're rating too quickly: at most {per_minute} ratings per minute. Please wait a moment.",
                retryable=True,
            )
            return
        try:
            await asyncio.to_thread(
                self.ctx.conversations.add_feedback,
                feedback.message_id,
                self.customer_id,
                feedback.rating,
                feedback.comment,
                conversation_id=self.conversation_id,
            )
        except MessageNotFound:
            await self.error(ErrorCode.not_found, f"There is no answer {feedback.message_id} to rate.")
            return
        except NotConversationOwner:
            await self.error(ErrorCode.forbidden, "You can only rate answers in your own conversation.")
            return
        self.ctx.metrics.feedback.labels(feedback.rating).inc()
        await self.emit(
            FeedbackOk(conversation_id=self.conversation_id, message_id=feedback.message_id, rating=feedback.rating)
        )

    async def _ping(self, _: Ping) -> None:
        await self.emit(Pong(conversation_id=self.conversation_id))

    async def closed(self) -> None:
        """The peer is gone or we are closing: stop any answer (stored as interrupted) and stop listening."""
        if self.state is ConnectionState.closed:
            return
        self.state = ConnectionState.closed
        if self.conversation_id is not None:
            self.ctx.hub.unsubscribe(self.conversation_id, self.emit)
        task, turn = self._turn_task, self._turn
        if turn is not None:
            turn.stop()
        if task is not None and not task.done() and task is not asyncio.current_task():
            await asyncio.wait({task}, timeout=60)
