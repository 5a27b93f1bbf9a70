"""Live fan-out of events to every open connection of a conversation (agent messages, handoff changes).

With several replicas (server/notify.py) `relay` also passes each published event to the others, which hand it
to `deliver`: a shopper's socket may be held by any replica, whichever one the agent's request reached.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from server.protocol import Event

log = logging.getLogger(__name__)
Listener = Callable[[Event], Awaitable[None]]


class Hub:
    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = {}
        self.relay: Listener | None = None

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

    def conversations(self) -> list[str]:
        """The conversations with an open connection here."""
        return list(self._listeners)

    async def publish(self, event: Event) -> None:
        """Deliver to this process's connections, then to the other replicas' (when there are any)."""
        await self.deliver(event)
        if self.relay is not None:
            await self.relay(event)

    async def deliver(self, event: Event) -> None:
        for listener in list(self._listeners.get(event.conversation_id or "", ())):
            try:
                await listener(event)
            except Exception:  # one dead connection must not keep the event from the others
                log.exception("could not deliver %s to a listener", event.type)
