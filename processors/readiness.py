"""A heartbeat row per worker: /readyz reads it to know a worker holds its partitions."""

from __future__ import annotations

import time

from hub.events import utcnow
from hub.store.db import insert_for
from hub.store.models import WorkerHeartbeat
from processors import projector
from processors.app import app, db, log, worker_id


SETTLED_AFTER = 3.0  # a first join often takes two generations; ready once it settled
_last_unsettled = [time.monotonic()]


def holds_partitions() -> tuple[bool, int]:
    try:
        assigned = len(app.consumer.assignment())
    except Exception:  # noqa: BLE001 - consumer not started yet
        return False, 0
    holding = assigned > 0 and bool(projector.assigned_partitions) and not app.rebalancing and not getattr(app, "in_recovery", False)
    if not holding:
        _last_unsettled[0] = time.monotonic()
    return holding and time.monotonic() - _last_unsettled[0] >= SETTLED_AFTER, assigned


@app.timer(0.5)
async def heartbeat() -> None:
    ready, assigned = holds_partitions()
    values = {"id": worker_id, "ready": ready, "partitions": assigned, "heartbeat_at": utcnow()}
    async with db() as session, session.begin():
        stmt = insert_for(session, WorkerHeartbeat).values(**values)
        await session.execute(
            stmt.on_conflict_do_update(index_elements=["id"], set_={k: v for k, v in values.items() if k != "id"})
        )
    if ready and not getattr(heartbeat, "_said", False):
        heartbeat._said = True  # type: ignore[attr-defined]
        log.info("worker ready", extra={"worker": worker_id, "partitions": assigned})
