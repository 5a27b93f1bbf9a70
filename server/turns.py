"""One shopper turn over the network, as a stream of protocol events shared by the WebSocket and REST.

The engine is blocking CPU work, so it runs in worker threads: `engine.reply` (retrieval, tools) in
the default pool, and the token loop in the generation pool, one event per `next()`. The engine's typed
events (`bot.assistant.events`) become protocol events here. Stopping sets a flag the worker checks
between steps; the worker then closes the events in its own thread, which makes the engine store the
partial answer as interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from bot.assistant.conversations import ConversationNotFound, Conversations, NotConversationOwner
from bot.assistant.engine import ChatEngine, Reply
from bot.assistant.events import Finished, Sources, Text, ToolCalled, TurnEvent
from bot.assistant.question import MessageRejected, Question
from bot.assistant.tools import Effect
from bot.runtime import EngineUnavailable
from retrieval.schema import ConversationState
from server.handoff import HandoffDesk
from server.limits import ConversationLocks, GenerationSlots, Overloaded
from server.metrics import Metrics
from server.protocol import (
    Citations,
    Delta,
    End,
    Error,
    ErrorCode,
    Event,
    Forwarded,
    Queued,
    Start,
    Timings,
    ToolEvent,
    Usage,
)

log = logging.getLogger(__name__)
ENGINE_UNAVAILABLE = "The assistant can't reach its language engine right now; please try again in a moment."


class TurnRefused(Exception):
    """The turn cannot run; `code` is the protocol error code and the text says what to do."""

    def __init__(self, code: ErrorCode, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


@dataclass
class Turn:
    """One shopper message to answer; `stop()` may be called at any time from the event loop."""

    conversation_id: str
    customer_id: str | None
    question: Question  # checked where it arrived (`Turns.question`)
    client_msg_id: str | None = None
    max_new_tokens: int | None = None  # lowers the model answer's cap for this turn (OpenAI `max_tokens`)
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)
    _cancel: threading.Event = field(default_factory=threading.Event)
    _handed: bool = False  # the reply belongs to a generation worker, which closes it

    def stop(self) -> None:
        self._stopped.set()
        self._cancel.set()


class Turns:
    def __init__(
        self,
        engine: ChatEngine,
        handoff: HandoffDesk,
        slots: GenerationSlots,
        locks: ConversationLocks,
        metrics: Metrics,
        executor: Executor,
        names_new: Callable[[str, str | None], bool] = lambda _cid, _customer: False,
    ) -> None:
        """`names_new(conversation_id, customer_id)` says whether an id not stored yet was handed to that shopper
        for a new conversation (`ServerContext.new_conversation_id`): such a conversation is stored with its
        first message, here."""
        self.engine = engine
        self.conversations: Conversations = engine.conversations
        self.handoff = handoff
        self.slots = slots
        self.locks = locks
        self.metrics = metrics
        self.executor = executor
        self.names_new = names_new

    def question(self, text: str) -> Question:
        """The shopper's message checked once, where it arrives; raises TurnRefused saying what is wrong."""
        try:
            return self.engine.question(text)
        except MessageRejected as exc:
            code = ErrorCode.empty_message if not text.strip() else ErrorCode.message_too_long
            raise TurnRefused(code, str(exc)) from exc

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        """The turn's events; raises TurnRefused before the first event when it cannot start."""
        text = turn.question.text
        cid = turn.conversation_id
        if not self.locks.claim(cid):
            raise TurnRefused(
                ErrorCode.busy, "An answer is still being written in this conversation: wait for it or send stop.", True
            )
        try:
            new = False
            try:
                state = await asyncio.to_thread(self.conversations.state, cid)
            except ConversationNotFound as exc:
                if not self.names_new(cid, turn.customer_id):
                    raise TurnRefused(ErrorCode.not_found, str(exc)) from exc
                new, state = True, ConversationState.bot
            if state is not ConversationState.bot:
                message_id = await self.handoff.forward(cid, turn.customer_id, text)
                yield Forwarded(
                    conversation_id=cid, message_id=message_id, state=state.value, client_msg_id=turn.client_msg_id
                )
                return
            if self.slots.full():
                raise TurnRefused(
                    ErrorCode.overloaded, "The assistant is very busy right now: try again in a moment.", True
                )
            try:
                if new:  # checked and about to store its first message: only now is the conversation written
                    await asyncio.to_thread(self.conversations.open, cid, turn.customer_id)
                reply = await asyncio.to_thread(
                    self.engine.reply, cid, turn.customer_id, turn.question, turn.max_new_tokens
                )
            except EngineUnavailable as exc:  # the engine counts the prompt's tokens (remote_tokenize_url)
                log.warning("%s", exc)
                raise TurnRefused(ErrorCode.internal, ENGINE_UNAVAILABLE, True) from exc
            except NotConversationOwner as exc:
                raise TurnRefused(ErrorCode.forbidden, str(exc)) from exc
            except ConversationNotFound as exc:
                raise TurnRefused(ErrorCode.not_found, str(exc)) from exc
            async for event in self._answer(turn, reply):
                yield event
        finally:
            self.locks.release(cid)

    async def _answer(self, turn: Turn, reply: Reply) -> AsyncIterator[Event]:
        cid, mid = turn.conversation_id, reply.message_id
        granted = False
        try:
            yield Start(conversation_id=cid, message_id=mid, client_msg_id=turn.client_msg_id)
            for before in reply.prelude:
                async for event in self._relay(turn, reply, before):
                    yield event
            positions: asyncio.Queue[int] = asyncio.Queue()
            acquire = asyncio.ensure_future(self.slots.acquire(positions.put))
            stopped = asyncio.ensure_future(turn._stopped.wait())
            try:
                while not acquire.done():
                    position = asyncio.ensure_future(positions.get())
                    done, _ = await asyncio.wait({acquire, position, stopped}, return_when=asyncio.FIRST_COMPLETED)
                    if position in done:
                        yield Queued(conversation_id=cid, message_id=mid, position=position.result())
                    else:
                        position.cancel()
                    if stopped in done:
                        break
            finally:
                stopped.cancel()
                if not acquire.done():
                    acquire.cancel()
                    await asyncio.wait({acquire})
            if not acquire.cancelled() and isinstance(acquire.exception(), Overloaded):
                raise TurnRefused(
                    ErrorCode.overloaded, "The assistant is very busy right now: try again in a moment.", True
                )
            granted = not acquire.cancelled() and acquire.exception() is None
            if granted and not turn._stopped.is_set():
                async for event in self._generate(turn, reply):
                    yield event
            else:
                yield self._end(turn, reply, completed=False)
        finally:
            if granted:
                self.slots.release()
            if not turn._handed:
                await asyncio.shield(asyncio.to_thread(reply.close))

    async def _relay(self, turn: Turn, reply: Reply, event: TurnEvent) -> AsyncIterator[Event]:
        """The protocol event for one of the engine's, then any side effect its tool declared."""
        cid, mid = turn.conversation_id, reply.message_id
        if isinstance(event, ToolCalled):
            yield ToolEvent(conversation_id=cid, message_id=mid, name=event.name, items=event.result.items)
            if event.effect is Effect.HANDOFF:
                reason = next((i["reason"] for i in event.result.items if i.get("reason")), "")
                await self.handoff.requested(cid, turn.customer_id, reason)
        elif isinstance(event, Sources):
            yield Citations(conversation_id=cid, message_id=mid, sources=event.sources)

    async def _generate(self, turn: Turn, reply: Reply) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        out: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        turn._handed = True
        worker = loop.run_in_executor(self.executor, _pump, reply, loop, out, turn._cancel)
        outcome: tuple[str, object] | None = None
        finished = False
        seq = 0
        try:
            while outcome is None:
                kind, value = await out.get()
                if kind != "event":
                    outcome = (kind, value)
                elif isinstance(value, Text):
                    yield Delta(
                        conversation_id=turn.conversation_id, message_id=reply.message_id, seq=seq, text=value.text
                    )
                    seq += 1
                elif isinstance(value, Finished):
                    finished = True
                else:
                    async for event in self._relay(turn, reply, value):
                        yield event
        finally:
            if outcome is None:
                turn._cancel.set()
            try:
                await asyncio.shield(worker)
            except Exception:
                log.exception("generation worker failed")
        kind, value = outcome
        if kind == "error":
            yield Error(
                conversation_id=turn.conversation_id,
                code=ErrorCode.internal,
                message=ENGINE_UNAVAILABLE
                if isinstance(value, EngineUnavailable)
                else "Something went wrong while answering; please try again.",
                retryable=True,
            )
        yield self._end(turn, reply, completed=kind == "done" and finished)

    def _end(self, turn: Turn, reply: Reply, *, completed: bool) -> End:
        """The `end` event. A completed answer is never `cancelled`, whatever its last generation reported: an
        answer in fixed words runs no model, and one the model's cut-short tool call ended in fixed words
        (the fallback) has a generation that was closed on the way, yet the shopper got the whole answer."""
        stats = reply.stats
        for correction in reply.corrections:
            self.metrics.corrections.labels(kind=correction.kind).inc()
        if completed:
            if stats.ttft_s is not None:
                self.metrics.ttft.observe(stats.ttft_s)
            if stats.decode_tokens_per_s > 0:
                self.metrics.tokens_per_second.observe(stats.decode_tokens_per_s)
        return End(
            conversation_id=turn.conversation_id,
            message_id=reply.message_id,
            finish_reason=_finish_reason(stats.finish_reason) if completed else "cancelled",
            usage=Usage(prompt_tokens=stats.prompt_tokens, completion_tokens=stats.completion_tokens),
            timings=Timings(
                ttft_ms=round(stats.ttft_s * 1000) if stats.ttft_s is not None else None,
                total_ms=round(stats.total_s * 1000),
            ),
        )


def _finish_reason(reported: str | None) -> str:
    return "stop" if reported in (None, "cancelled") else reported


def _pump(reply: Reply, loop: asyncio.AbstractEventLoop, out: asyncio.Queue, cancel: threading.Event) -> None:
    """Runs in a worker thread: one of the engine's events per `next()`, checking for a stop between them."""
    events = reply.events()
    outcome: tuple[str, object] = ("done", False)
    try:
        while not cancel.is_set():
            try:
                event = next(events)
            except StopIteration:
                outcome = ("done", True)
                break
            _post(loop, out, ("event", event))
    except EngineUnavailable as exc:
        log.warning("%s", exc)
        outcome = ("error", exc)
    except Exception as exc:
        log.exception("generation failed")
        outcome = ("error", exc)
    finally:
        reply.close()
        _post(loop, out, outcome)


def _post(loop: asyncio.AbstractEventLoop, out: asyncio.Queue, item: tuple[str, object]) -> None:
    try:
        loop.call_soon_threadsafe(out.put_nowait, item)
    except RuntimeError:  # the server is shutting down; nobody is listening any more
        pass
