"""Rate limits and generation capacity: how much one shopper, and everyone together, may ask of the CPU.

Everything here runs on the event loop thread, so plain data structures need no locks. The per-customer limits
are counted in PostgreSQL when several replicas share it (`SharedRateLimiter`), so a shopper whose messages a
load balancer spreads over them still gets the limit once, not once per replica.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

from sqlalchemy import text

from retrieval.store import Store

log = logging.getLogger(__name__)


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

    async def admit(self, key: Hashable) -> bool:
        """`allow`, as the shared limiter is called."""
        return self.allow(key)

    def _prune(self, now: float) -> None:
        if len(self._hits) > 10_000:
            for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window_s]:
                del self._hits[key]


RATE_TABLE = "shopbot_rate_windows"
# Unlogged: the counts are worth less than the writes a WAL would cost, and a crash only forgets a minute of them.
CREATE_RATE_TABLE = text(
    f"CREATE UNLOGGED TABLE IF NOT EXISTS {RATE_TABLE} (name text NOT NULL, key text NOT NULL, "
    "window_start bigint NOT NULL, hits integer NOT NULL, PRIMARY KEY (name, key, window_start))"
)
# One statement, so replicas counting at once never both take the last place: the current window's count goes up
# by one only while the estimate of the sliding window (the previous window's count, weighted by the share of it
# still inside the sliding window and rounded up, plus the current one's) stays under the limit: a burst across a
# window's edge is still refused. The clock is the database's, the same for every replica. No row back: refused.
COUNT_HIT = text(
    f"""
WITH clock AS (SELECT extract(epoch FROM clock_timestamp()) / :window_s AS t),
earlier AS (
    SELECT coalesce(max(r.hits), 0) AS hits FROM {RATE_TABLE} r, clock
    WHERE r.name = :name AND r.key = :key AND r.window_start = floor(clock.t)::bigint - 1
),
budget AS (
    SELECT floor(clock.t)::bigint AS w, :limit - ceil(earlier.hits * (1 - (clock.t - floor(clock.t)))) AS cap
    FROM clock, earlier
)
INSERT INTO {RATE_TABLE} AS r (name, key, window_start, hits)
SELECT :name, :key, budget.w, 1 FROM budget WHERE budget.cap > 0
ON CONFLICT (name, key, window_start) DO UPDATE SET hits = r.hits + 1 WHERE r.hits < (SELECT cap FROM budget)
RETURNING r.hits
"""
)
DROP_OLD_WINDOWS = text(
    f"DELETE FROM {RATE_TABLE} WHERE name = :name "
    "AND window_start < floor(extract(epoch FROM clock_timestamp()) / :window_s)::bigint - 1"
)


def create_rate_table(store: Store) -> None:
    """The shared limiters' table, made on first start; an advisory lock keeps replicas starting together from
    racing to create it."""
    with store.transaction() as s:
        s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": RATE_TABLE})
        s.execute(CREATE_RATE_TABLE)


class SharedRateLimiter:
    """At most `limit` events per key in a sliding `window_s`, counted in PostgreSQL for every replica together.

    Windows older than the previous one are deleted as the count goes on (at most once a window from each
    replica), so the table holds two rows per active key. When the database cannot be reached the replica counts
    on its own (`fallback`) rather than refuse every shopper.
    """

    def __init__(self, name: str, limit: int, store: Callable[[], Store], window_s: float = 60.0) -> None:
        self.name = name
        self.limit = limit
        self.window_s = window_s
        self._store = store
        self.fallback = RateLimiter(limit, window_s)
        self._cleaned = float("-inf")

    async def admit(self, key: Hashable) -> bool:
        """Count one event for `key` unless that would break the limit."""
        try:
            return await asyncio.to_thread(self._count, str(key))
        except Exception as exc:
            log.warning("could not count %s in the database (%s); this replica counts it alone", self.name, exc)
            return self.fallback.allow(key)

    def _count(self, key: str) -> bool:
        params = {"name": self.name, "window_s": self.window_s}
        with self._store().transaction() as s:
            hits = s.execute(COUNT_HIT, {**params, "key": key, "limit": self.limit}).scalar()
            if time.monotonic() - self._cleaned > self.window_s:
                self._cleaned = time.monotonic()
                s.execute(DROP_OLD_WINDOWS, params)
        return hits is not None


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
