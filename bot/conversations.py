"""Persisted conversations: who owns each one, and its messages, in the shop database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from retrieval.schema import Conversation, Message, MessageStatus
from retrieval.store import Store


class ConversationNotFound(LookupError):
    pass


class NotConversationOwner(PermissionError):
    """Raised when a session asks for a conversation that belongs to someone else."""


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

    def create(self, customer_id: str | None) -> str:
        conversation_id = uuid.uuid4().hex
        with self.store.transaction() as s:
            s.add(Conversation(id=conversation_id, customer_id=customer_id, created_at=_now()))
        return conversation_id

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
            if m.role in ("user", "assistant") and m.content
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
