"""A heartbeat row per worker: /readyz reads it to know a worker holds its partitions."""

from __future__ import annotations

import logging
import time
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.events import utcnow
from hub.store import workers

log = logging.getLogger("hub.worker")
#: a first join often takes two generations: ready once the assignment held this long (the
#: embedded broker waits half a group session for more members before it assigns)
SETTLED_AFTER = 3.0
#: an unchanged row is written again this often (/readyz takes a row of the last 10 s as fresh): each
#: write waits for SQLite's one write lock, which the projector holds for its batches
REWRITE_AFTER = 2.0


class Heartbeat:
    def __init__(self, worker_id: str, db: async_sessionmaker[AsyncSession], holding: Callable[[], tuple[bool, int]],
                 log_id: Callable[[], str] = lambda: "", caught_up: Callable[[], bool] = lambda: True,
                 settled_after: float = SETTLED_AFTER) -> None:
        self.worker_id = worker_id
        self.db = db
        self.holding = holding  # (holds its partitions now, how many)
        self.log_id = log_id  # the log it reads; /readyz counts only workers of the current one
        self.caught_up = caught_up  # read past a refill's ends
        self.settled_after = settled_after
        self.last_unsettled = time.monotonic()
        self.said_ready = False
        self.written: tuple[object, ...] = ()
        self.written_at = 0.0

    def settled(self) -> tuple[bool, int]:
        holding, assigned = self.holding()
        if not holding:
            self.last_unsettled = time.monotonic()
        return holding and time.monotonic() - self.last_unsettled >= self.settled_after, assigned

    async def beat(self) -> None:
        ready, assigned = self.settled()
        values = {"id": self.worker_id, "ready": ready, "partitions": assigned, "heartbeat_at": utcnow(),
                  "log_id": self.log_id() or None, "caught_up": self.caught_up()}
        state = (ready, assigned, values["log_id"], values["caught_up"])
        if state == self.written and time.monotonic() - self.written_at < REWRITE_AFTER:
            return
        async with self.db() as session, session.begin():
            await workers.beat(session, values)
        self.written, self.written_at = state, time.monotonic()
        if ready and not self.said_ready:
            self.said_ready = True
            log.info("worker ready", extra={"worker": self.worker_id, "partitions": assigned})
