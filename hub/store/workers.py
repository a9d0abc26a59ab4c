"""What the hub says of its own health: worker heartbeat rows (processors/readiness.py
writes them, /readyz reads them), the log incarnation they belong to, the dead letters."""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.db import insert_for
from hub.store.models import DeadLetter, LogIncarnation, WorkerHeartbeat


async def beat(s: AsyncSession, values: Mapping[str, Any]) -> None:
    """The worker's row as `values` say (`id` names it)."""
    stmt = insert_for(s, WorkerHeartbeat).values(**values)
    await s.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={k: v for k, v in values.items() if k != "id"}))


async def ready(s: AsyncSession) -> list[WorkerHeartbeat]:
    """The rows of workers that said they hold their partitions."""
    return list(await s.scalars(select(WorkerHeartbeat).where(WorkerHeartbeat.ready.is_(True))))


async def current_log(s: AsyncSession) -> str | None:
    """The log the hub reads now: the latest incarnation."""
    found: str | None = await s.scalar(select(LogIncarnation.id).order_by(LogIncarnation.started_at.desc()).limit(1))
    return found


async def dead_letters(s: AsyncSession) -> int:
    return int(await s.scalar(select(func.count()).select_from(DeadLetter)) or 0)


async def latest_dead_letters(s: AsyncSession, limit: int) -> list[DeadLetter]:
    """The newest `limit`, newest first."""
    return list(await s.scalars(select(DeadLetter).order_by(DeadLetter.at.desc()).limit(limit)))
