"""deadletter: keeps what could not be processed in the database, for `contacthub deadletter`."""

from __future__ import annotations

from hub import events as ev
from hub.store import projection
from processors.app import app, db
from processors.topics import deadletter


async def on_dead_lettered(event: ev.Event) -> None:
    if isinstance(event, ev.DeadLettered):
        async with db() as session, session.begin():
            await projection.record_deadletter(session, event)


@app.agent(deadletter, concurrency=1)
async def record_deadletters(stream):  # type: ignore[no-untyped-def]
    async for record in stream.events():
        try:
            await on_dead_lettered(ev.from_json(record.message.value))
        except Exception:  # noqa: BLE001 - the dead-letter topic keeps it; never loop
            import logging

            logging.getLogger("hub.deadletter").exception("could not record dead letter")
