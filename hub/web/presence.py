"""Who is online, across every web process. An agent is online while one of her live sockets
is open on some web process (and she has not chosen away); each process writes a row per agent
whose socket it holds, renewed every BEAT and at once when a socket opens or closes, and
good for TTL, so a process that died stops counting within TTL. The dashboard and the
assign list read these rows instead of their own process's sockets."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.events import utcnow
from hub.store import lookups

log = logging.getLogger("hub.presence")
BEAT = 10.0
TTL = timedelta(seconds=30)


async def online_agents(session: AsyncSession, now: datetime | None = None) -> set[str]:
    return await lookups.online_agents(session, now or utcnow())


class PresenceBeat:
    def __init__(self, db: async_sessionmaker[AsyncSession], online: Callable[[], set[str]], beat: float = BEAT) -> None:
        self.db = db
        self.online = online  # the agents with a live socket on this process
        self.beat = beat
        self.process = uuid.uuid4().hex
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def changed(self) -> None:
        """A socket opened or closed: write now rather than at the next beat."""
        self.wake.set()

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        try:
            await self.write(set())  # this process holds nobody any more
        except Exception:  # noqa: BLE001 - the rows expire within TTL anyway
            log.warning("presence rows left to expire", extra={"process": self.process})

    async def write(self, agents: set[str]) -> None:
        now = utcnow()
        async with self.db() as s, s.begin():
            await lookups.hold_presence(s, self.process, sorted(agents), now, TTL)

    async def _run(self) -> None:
        while True:
            self.wake.clear()
            try:
                await self.write(self.online())
            except Exception:  # noqa: BLE001 - a database hiccup must not end the beat
                log.exception("presence not written", extra={"process": self.process})
            try:
                await asyncio.wait_for(self.wake.wait(), self.beat)
            except asyncio.TimeoutError:
                pass
