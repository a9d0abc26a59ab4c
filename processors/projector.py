"""projector: conversation.events -> the read model, then `live` frames for agent sockets.

Batches keep the database in step at high rates: one transaction per batch; if the batch
fails, each event is retried alone so one bad event goes to deadletter and not its batch.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

from hub import events as ev
from hub.store import projection
from processors.app import app, db
from processors.base import dead_letter, send, stats
from processors.topics import conversations, live

log = logging.getLogger("hub.projector")
BATCH = 500
WITHIN = 0.005


async def project(events: Sequence[ev.Event]) -> list[dict[str, Any]]:
    async with db() as session, session.begin():
        return await projection.apply(session, events)


async def publish_frames(frames: list[dict[str, Any]]) -> None:
    for frame in frames:
        cid = frame.get("conversation_id") or frame.get("conversation", {}).get("id", "")
        await send(live, cid, ev.ReadModelUpdated(conversation_id=cid, frame=frame))


async def on_batch(records: Sequence[Any]) -> None:
    decoded: list[tuple[Any, ev.Event]] = []
    for record in records:
        try:
            decoded.append((record, ev.from_json(record.message.value)))
        except ev.UnknownEvent as exc:
            await dead_letter("projector", record.message, f"undecodable: {exc}")
    if not decoded:
        return
    try:
        frames = await project([e for _, e in decoded])
    except Exception:  # noqa: BLE001 - fall back to one event at a time
        log.warning("batch failed, projecting one by one", exc_info=True)
        frames = []
        for record, e in decoded:
            try:
                frames.extend(await project([e]))
            except Exception as exc:  # noqa: BLE001
                await dead_letter("projector", record.message, f"{type(exc).__name__}: {exc}")
    stats["processed.projector"] += len(decoded)
    await publish_frames(frames)


@app.agent(conversations, concurrency=1)
async def projector(stream):  # type: ignore[no-untyped-def]
    async for batch in stream.take_events(BATCH, within=WITHIN):
        await on_batch(batch)
