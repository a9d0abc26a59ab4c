"""Sessions on a database migrated to the latest version, for tests of the store layer and
of handlers that keep rows (SQLite in process, or the shared PostgreSQL database reset)."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.store import db
from tests.support.postgres import reset_postgres


@contextlib.asynccontextmanager
async def migrated(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if url.startswith("postgresql"):
        await reset_postgres(url)
    await db.migrate(url)
    engine = db.make_engine(url)
    try:
        yield db.sessionmaker(engine)
    finally:
        await engine.dispose()
