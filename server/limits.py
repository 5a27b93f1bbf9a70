"""Rate limits and generation capacity: how much one shopper, and everyone together, may ask of the CPU.

Everything here runs on the event loop thread, so plain data structures need no locks.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable


class Overloaded(RuntimeError):
    """The generation queue is full."""


class RateLimiter:
    """At most `limit` events per key in any sliding `window_s`."""

    def __init__(self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = {}

    def allow(self, key: Hashable) -> bool:
        """Count one event for `key` unless that would break the limit."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        self._prune(now)
        return True

    def _prune(self, now: float) -> None:
        if len(self._hits) > 10_000:
            for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window_s]:
                del self._hits[key]


class ConversationLocks:
    """One answer at a time per conversation, across all of its connections and REST calls."""

    def __init__(self) -> None:
        self._busy: set[str] = set()

    def claim(self, conversation_id: str) -> bool:
        if conversation_id in self._busy:
            return False
        self._busy.add(conversation_id)
        return True

    def release(self, conversation_id: str) -> None:
        self._busy.discard(conversation_id)


class GenerationSlots:
    """At most `max_active` generations run; up to `max_queued` wait in order, told their position."""

    def __init__(self, max_active: int, max_queued: int) -> None:
        self.max_active = max_active
        self.max_queued = max_queued
        self.active = 0
        self._queue: deque[object] = deque()
        self._changed = asyncio.Event()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def full(self) -> bool:
        """True when one more request would be refused."""
        return self.active >= self.max_active and len(self._queue) >= self.max_queued

    async def acquire(self, on_position: Callable[[int], Awaitable[None]] | None = None) -> None:
        if self.active < self.max_active and not self._queue:
            self.active += 1
            return
        if len(self._queue) >= self.max_queued:
            raise Overloaded(
                f"{self.active} answers are being generated and {len(self._queue)} are waiting "
                "(max_concurrent_generations, max_queued_generations)"
            )
        ticket = object()
        self._queue.append(ticket)
        reported = None
        try:
            while not (self._queue[0] is ticket and self.active < self.max_active):
                position = self._queue.index(ticket) + 1
                if position != reported and on_position is not None:
                    reported = position
                    await on_position(position)
                    continue
                changed = self._changed
                await changed.wait()
            self._queue.popleft()
            self.active += 1
        finally:
            if ticket in self._queue:
                self._queue.remove(ticket)
            self._notify()

    def release(self) -> None:
        self.active -= 1
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
