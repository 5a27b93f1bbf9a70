"""Live fan-out of events to every open connection of a conversation (agent messages, handoff changes)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from server.protocol import Event

log = logging.getLogger(__name__)
Listener = Callable[[Event], Awaitable[None]]


class Hub:
    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = {}

    def subscribe(self, conversation_id: str, listener: Listener) -> None:
        self._listeners.setdefault(conversation_id, set()).add(listener)

    def unsubscribe(self, conversation_id: str, listener: Listener) -> None:
        listeners = self._listeners.get(conversation_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[conversation_id]

    def listening(self, conversation_id: str) -> int:
        return len(self._listeners.get(conversation_id, ()))

    async def publish(self, event: Event) -> None:
        for listener in list(self._listeners.get(event.conversation_id or "", ())):
            try:
                await listener(event)
            except Exception:  # one dead connection must not keep the event from the others
                log.exception("could not deliver %s to a listener", event.type)
