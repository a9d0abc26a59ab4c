"""deadletter: keeps what could not be processed in the database, for `contacthub deadletter`."""

from __future__ import annotations

from typing import Any, MutableMapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import events as ev
from hub.config import Settings
from hub.store import projection
from processors.base import Handler, Outcome, Staged


class DeadletterHandler(Handler):
    name = "deadletter"

    def __init__(self, settings: Settings, *, table: MutableMapping[str, Any] | None = None,
                 db: async_sessionmaker[AsyncSession] | None = None) -> None:
        self.db = db
        super().__init__(settings, table=table)

    async def on_event(self, event: ev.Event, table: Staged, out: Outcome) -> None:
        if isinstance(event, ev.DeadLettered) and self.db is not None and not self.rebuilding:
            async with self.db() as session, session.begin():
                await projection.record_deadletter(session, event)
