"""The worker's heartbeat row: written when what it says changes, and again only every
REWRITE_AFTER seconds while it says the same (each write waits for SQLite's write lock)."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.store import db
from hub.store.models import WorkerHeartbeat
from processors import readiness
from processors.readiness import Heartbeat

pytestmark = pytest.mark.unit


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{tmp_path}/hub.db"
    await db.migrate(url)
    engine = db.make_engine(url)
    yield db.sessionmaker(engine)
    await engine.dispose()


async def row(sessions: async_sessionmaker[AsyncSession]) -> WorkerHeartbeat:
    async with sessions() as s:
        found = await s.scalar(select(WorkerHeartbeat))
    assert found is not None
    return found


async def test_an_unchanged_beat_is_written_again_only_after_a_while(sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    holding = [False, 0]
    beat = Heartbeat("w1", sessions, lambda: (bool(holding[0]), int(holding[1])))
    await beat.beat()
    first = (await row(sessions)).heartbeat_at
    await beat.beat()  # the same, at once: not written
    assert (await row(sessions)).heartbeat_at == first
    holding[:] = [True, 4]  # a change is written at once
    await beat.beat()
    changed = await row(sessions)
    assert (changed.partitions, changed.heartbeat_at > first) == (4, True)
    monkeypatch.setattr(readiness, "REWRITE_AFTER", 0.0)  # the same again, once the while has passed
    await beat.beat()
    assert (await row(sessions)).heartbeat_at > changed.heartbeat_at
