"""Persisted conversations: who owns each one, and its messages, in the shop database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from retrieval.schema import Conversation, ConversationState, Feedback, Message, MessageStatus
from retrieval.store import Store


class ConversationNotFound(LookupError):
    pass


class NotConversationOwner(PermissionError):
    """Raised when a session asks for a conversation that belongs to someone else."""


class MessageNotFound(LookupError):
    pass


@dataclass(frozen=True)
class StoredMessage:
    id: int
    role: str
    content: str
    status: str
    meta: dict


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Conversations:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, customer_id: str | None, conversation_id: str | None = None) -> str:
        conversation_id = conversation_id or uuid.uuid4().hex
        with self.store.transaction() as s:
            s.add(Conversation(id=conversation_id, customer_id=customer_id, created_at=_now()))
        return conversation_id

    def open(self, conversation_id: str, customer_id: str | None) -> None:
        """Store a conversation the server named but has not written yet (its first message is about to be),
        or check the owner of one already stored. Rows are written only for conversations that hold messages,
        so opening chats (a WebSocket `hello`) costs the database nothing."""
        try:
            self.create(customer_id, conversation_id)
        except IntegrityError:  # stored meanwhile, e.g. by another connection that resumed the same id
            self.check_owner(conversation_id, customer_id)

    def check_owner(self, conversation_id: str, customer_id: str | None) -> None:
        """A conversation is visible only to the session it was created under (anonymous ones too)."""
        with self.store.session() as s:
            conversation = s.get(Conversation, conversation_id)
        if conversation is None:
            raise ConversationNotFound(f"no conversation {conversation_id!r}")
        if conversation.customer_id != customer_id:
            raise NotConversationOwner(f"conversation {conversation_id!r} belongs to another shopper")

    def messages(self, conversation_id: str, customer_id: str | None) -> list[StoredMessage]:
        self.check_owner(conversation_id, customer_id)
        return self.transcript(conversation_id)

    def transcript(self, conversation_id: str) -> list[StoredMessage]:
        """Every message, for callers that already authorized the reader (the owner, or a human agent)."""
        with self.store.session() as s:
            rows = s.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id))
            return [StoredMessage(m.id, m.role, m.content, m.status, m.meta or {}) for m in rows]

    def history(self, conversation_id: str, customer_id: str | None, max_messages: int) -> list[dict[str, str]]:
        """The last completed exchanges, as chat messages for the next prompt."""
        if max_messages <= 0:
            return []
        msgs = [
            {"role": m.role, "content": m.content}
            for m in self.messages(conversation_id, customer_id)
            if m.role in ("user", "assistant") and m.content and m.status != MessageStatus.streaming.value
        ]
        return msgs[-max_messages:]

    def append(
        self,
        conversation_id: str,
        role: str,
        content: str,
        *,
        status: MessageStatus = MessageStatus.complete,
        meta: dict | None = None,
    ) -> int:
        with self.store.transaction() as s:
            message = Message(
                conversation_id=conversation_id,
                role=role,
                content=content,
                status=status.value,
                created_at=_now(),
                meta=meta or {},
            )
            s.add(message)
            s.flush()
            return message.id

    def finish(self, message_id: int, content: str, *, status: MessageStatus, meta: dict | None = None) -> None:
        """Fill in an answer reserved with status `streaming` once it is complete or interrupted."""
        with self.store.transaction() as s:
            message = s.get(Message, message_id)
            message.content = content
            message.status = status.value
            message.meta = meta or {}

    def save_partial(self, message_id: int, content: str, meta: dict | None = None) -> None:
        """Save the text so far of an answer still streaming, so a crash keeps it. Only a `streaming` message is
        touched: a save that comes after the answer was finished never undoes it."""
        with self.store.transaction() as s:
            s.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == MessageStatus.streaming.value)
                .values(content=content, meta=meta or {})
            )

    def recover_interrupted(self) -> int:
        """Mark every answer left `streaming` as `interrupted`, keeping the text saved so far; returns how many.

        Run once at start-up, before serving: any answer still streaming then was cut off when the server died
        (a crash, a kill), and nothing will ever finish it. Assumes one server process per database, as
        `shopbot serve` runs."""
        with self.store.transaction() as s:
            left = list(s.scalars(select(Message).where(Message.status == MessageStatus.streaming.value)))
            for message in left:
                message.status = MessageStatus.interrupted.value
                message.meta = {**(message.meta or {}), "finish_reason": "cancelled", "recovered": True}
            return len(left)

    def conversation_of(self, message_id: int) -> str | None:
        with self.store.session() as s:
            message = s.get(Message, message_id)
        return message.conversation_id if message else None

    def exists(self, conversation_id: str) -> bool:
        with self.store.session() as s:
            return s.get(Conversation, conversation_id) is not None

    def state(self, conversation_id: str) -> ConversationState:
        with self.store.session() as s:
            conversation = s.get(Conversation, conversation_id)
        if conversation is None:
            raise ConversationNotFound(f"no conversation {conversation_id!r}")
        return ConversationState(conversation.state)

    def set_state(self, conversation_id: str, state: ConversationState) -> None:
        with self.store.transaction() as s:
            conversation = s.get(Conversation, conversation_id)
            if conversation is None:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            conversation.state = state.value

    def add_feedback(
        self, message_id: int, customer_id: str | None, rating: str, comment: str = "", *, conversation_id: str | None
    ) -> None:
        """Rate an answer of the session's conversation (anonymous sessions all share customer None, so
        the conversation id is required to tell them apart)."""
        with self.store.session() as s:
            message = s.get(Message, message_id)
        if message is None or message.role != "assistant":
            raise MessageNotFound(f"no assistant message {message_id}")
        self.check_owner(message.conversation_id, customer_id)
        if conversation_id is None or message.conversation_id != conversation_id:
            raise NotConversationOwner(f"message {message_id} is not in conversation {conversation_id!r}")
        values = {"message_id": message_id, "rating": rating, "comment": comment, "created_at": _now()}
        with self.store.transaction() as s:
            _upsert_feedback(s, values)


def _upsert_feedback(session: Session, values: dict) -> None:
    """One row per rated message: insert, or replace the earlier rating, in one statement on SQLite and
    PostgreSQL (both have INSERT ... ON CONFLICT); other databases update first and insert when nothing was."""
    dialect = session.get_bind().dialect.name
    changed = {k: v for k, v in values.items() if k != "message_id"}
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        statement = insert(Feedback).values(**values)
        session.execute(statement.on_conflict_do_update(index_elements=[Feedback.message_id], set_=changed))
        return
    done = session.execute(update(Feedback).where(Feedback.message_id == values["message_id"]).values(**changed))
    if not done.rowcount:
        session.add(Feedback(**values))
