"""Events for shoppers' connections that reach every replica: PostgreSQL LISTEN/NOTIFY, no broker of our own.

Several `shopbot serve` processes on one PostgreSQL database each hold their shoppers' sockets, but an agent's
message or a handoff can be posted to any of them. Each replica keeps one dedicated connection LISTENing on a
channel; an event published on one replica is delivered to its own connections at once and NOTIFYed to the
others. The notification is small (the kind, the conversation id, the message id or the new state): a replica
that holds a socket of that conversation reads the message itself from the database, which has committed it.

The LISTEN connection is checked every `events_check_s` and opened again when it drops. Notifications sent
while it was down are lost by PostgreSQL, so after a reconnect the conversations with a socket here are read
again: agent messages stored since the last good check, and a state that changed meanwhile, are delivered then.
On SQLite (one process) nothing here runs: the hub alone delivers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from retrieval.schema import Conversation, ConversationState, Message
from retrieval.store import Store
from server.hub import Hub
from server.protocol import AgentMessage, Event, HandoffEvent

log = logging.getLogger(__name__)
CHANNEL = "shopbot_events"
MAX_REASON_CHARS = 1000  # NOTIFY payloads must stay under 8000 bytes, and a character may take four
APPLICATION_NAME = "shopbot-events"
STATE, AGENT_MESSAGE = "state", "agent_message"  # a notification's kind: a conversation's new state, an agent's message


def is_postgresql(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL without its driver part, as libpq (psycopg) reads it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class SharedEvents:
    """Relays the hub's events between replicas; `Hub.publish` calls `send`, notifications call `Hub.deliver`."""

    def __init__(self, hub: Hub, store: Callable[[], Store], database_url: str, check_s: float = 10.0) -> None:
        self.hub = hub
        self._store = store
        self.conninfo = libpq_url(database_url)
        self.check_s = check_s
        self.replica = uuid.uuid4().hex[:12]  # this process: it skips its own notifications, delivered already
        self.listening = asyncio.Event()
        self.reconnects = 0
        self._task: asyncio.Task | None = None
        self._inbox: asyncio.Queue[dict] = asyncio.Queue()
        self._worker: asyncio.Task | None = None
        self._mark = 0  # the newest message id at the last good check: a reconnect reads what came after it
        self._states: dict[str, str] = {}  # each conversation with a socket here: its state at the last check
        self._delivered: dict[str, set[int]] = {}  # agent messages delivered here since the last check

    @property
    def store(self) -> Store:
        return self._store()

    async def start(self, wait_s: float = 10.0) -> None:
        """Start listening; waits up to `wait_s` for the first LISTEN, then keeps trying in the background."""
        self.hub.relay = self.send
        self._worker = asyncio.create_task(self._deliver_inbox(), name="shopbot-events-deliver")
        self._task = asyncio.create_task(self._listen_forever(), name="shopbot-events-listen")
        try:
            await asyncio.wait_for(self.listening.wait(), wait_s)
        except TimeoutError:
            log.warning("not yet listening for other replicas' events after %.0f s; still trying", wait_s)

    async def aclose(self) -> None:
        self.hub.relay = None
        for task in (self._task, self._worker):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._task, self._worker) if t is not None), return_exceptions=True)

    async def send(self, event: Event) -> None:
        """NOTIFY the other replicas of an event this one has just delivered to its own connections."""
        payload = self._payload(event)
        if payload is None:
            return
        if isinstance(event, AgentMessage):
            self._delivered.setdefault(event.conversation_id or "", set()).add(event.message_id)
        elif isinstance(event, HandoffEvent) and event.conversation_id in self._states:
            self._states[event.conversation_id] = event.state
        try:
            await asyncio.to_thread(self._notify, json.dumps(payload, separators=(",", ":")))
        except Exception:  # the shopper's chat goes on; the other replicas catch up when they next reconnect
            log.exception("could not notify other replicas of %s", event.type)

    def _payload(self, event: Event) -> dict | None:
        base = {"o": self.replica, "c": event.conversation_id}
        if isinstance(event, AgentMessage):
            return {**base, "k": AGENT_MESSAGE, "m": event.message_id}
        if isinstance(event, HandoffEvent):
            return {**base, "k": STATE, "s": event.state, "r": (event.reason or "")[:MAX_REASON_CHARS] or None}
        return None

    def _notify(self, payload: str) -> None:
        with self.store.transaction() as s:
            s.execute(select(func.pg_notify(CHANNEL, payload)))

    async def _listen_forever(self) -> None:
        import psycopg

        delay = 0.2
        first = True
        while True:
            connection = None
            try:
                connection = await psycopg.AsyncConnection.connect(
                    self.conninfo,
                    autocommit=True,
                    application_name=APPLICATION_NAME,
                    connect_timeout=max(2, round(self.check_s)),
                )
                await connection.execute(f"LISTEN {CHANNEL}")
                if not first:
                    self.reconnects += 1
                    log.warning("listening for other replicas' events again")
                    await self._catch_up()
                first = False
                await self._check()
                self.listening.set()
                delay = 0.2
                while True:
                    async for notification in connection.notifies(timeout=self.check_s):
                        self._receive(notification.payload)
                    await asyncio.wait_for(connection.execute("SELECT 1"), self.check_s)
                    await self._check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listening.clear()
                log.warning(
                    "the connection listening for other replicas' events failed (%s); retrying in %.1f s", exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.check_s)
            finally:
                if connection is not None:
                    try:
                        await asyncio.wait_for(connection.close(), 2)
                    except Exception:
                        log.debug("closing the listening connection failed", exc_info=True)

    def _receive(self, raw: str) -> None:
        try:
            payload = json.loads(raw)
        except ValueError:
            log.warning("an event on %s is not JSON: %.200s", CHANNEL, raw)
            return
        if isinstance(payload, dict) and payload.get("o") != self.replica and self.hub.listening(payload.get("c", "")):
            self._inbox.put_nowait(payload)

    async def _deliver_inbox(self) -> None:
        """One at a time, in the order they came: a handoff to `agent` arrives before the agent's message."""
        while True:
            payload = await self._inbox.get()
            try:
                event = await self._event(payload)
                if event is not None:
                    await self.hub.deliver(event)
            except Exception:
                log.exception("could not deliver another replica's %s", payload.get("k"))

    async def _event(self, payload: dict) -> Event | None:
        cid = payload["c"]
        if payload.get("k") == STATE:
            self._states[cid] = payload["s"]
            return HandoffEvent(conversation_id=cid, state=payload["s"], reason=payload.get("r"))
        if payload.get("k") == AGENT_MESSAGE:
            message = await asyncio.to_thread(self._agent_message, int(payload["m"]))
            if message is None or message.conversation_id != cid or message.message_id in self._delivered.get(cid, ()):
                return None
            self._delivered.setdefault(cid, set()).add(message.message_id)
            return message
        return None

    def _agent_message(self, message_id: int) -> AgentMessage | None:
        with self.store.session() as s:
            m = s.get(Message, message_id)
        if m is None or m.role != "agent":
            return None
        meta = m.meta or {}
        return AgentMessage(
            conversation_id=m.conversation_id, message_id=m.id, text=m.content, agent_name=meta.get("agent_name")
        )

    async def _check(self) -> None:
        """Note the newest message id and the state of each conversation with a socket here, for a catch-up."""
        listened = self.hub.conversations()
        mark, states = await asyncio.to_thread(self._snapshot, listened)
        self._mark = mark
        self._states = {cid: states.get(cid, ConversationState.bot.value) for cid in listened}
        self._delivered = {
            cid: {i for i in ids if i > mark} for cid, ids in self._delivered.items() if self.hub.listening(cid)
        }

    def _snapshot(self, conversation_ids: list[str]) -> tuple[int, dict[str, str]]:
        with self.store.session() as s:
            mark = s.scalar(select(func.max(Message.id))) or 0
            where = Conversation.id.in_(conversation_ids)
            return mark, {
                cid: state for cid, state in s.execute(select(Conversation.id, Conversation.state).where(where))
            }

    async def _catch_up(self) -> None:
        """Deliver what the notifications lost while nobody here was listening."""
        mark, states, delivered = self._mark, dict(self._states), self._delivered
        missed = await asyncio.to_thread(self._since, mark, list(states))
        for cid, (state, messages) in missed.items():
            fresh = [m for m in messages if m.message_id not in delivered.get(cid, set())]
            changed = state != states.get(cid)
            if changed and state == ConversationState.agent.value:
                await self.hub.deliver(HandoffEvent(conversation_id=cid, state=state))
            for message in fresh:
                delivered.setdefault(cid, set()).add(message.message_id)
                await self.hub.deliver(message)
            if changed and state != ConversationState.agent.value:
                await self.hub.deliver(HandoffEvent(conversation_id=cid, state=state))

    def _since(self, mark: int, conversation_ids: list[str]) -> dict[str, tuple[str, list[AgentMessage]]]:
        if not conversation_ids:
            return {}
        with self.store.session() as s:
            where = Conversation.id.in_(conversation_ids)
            states = {cid: state for cid, state in s.execute(select(Conversation.id, Conversation.state).where(where))}
            rows = s.scalars(
                select(Message)
                .where(Message.conversation_id.in_(conversation_ids), Message.role == "agent", Message.id > mark)
                .order_by(Message.id)
            )
            messages: dict[str, list[AgentMessage]] = {}
            for m in rows:
                messages.setdefault(m.conversation_id, []).append(
                    AgentMessage(
                        conversation_id=m.conversation_id,
                        message_id=m.id,
                        text=m.content,
                        agent_name=(m.meta or {}).get("agent_name"),
                    )
                )
        return {
            cid: (states.get(cid, ConversationState.bot.value), messages.get(cid, []))
            for cid in conversation_ids
            if cid in states
        }
