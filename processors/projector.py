"""projector: conversation.events -> the read model, then `live` frames for agent sockets.

It runs in the worker beside the faust agents but keeps its own position: a consumer
whose offsets are written in the same database transaction as the rows they produced
(processors/positioned.py). The read model and its position cannot disagree, so a SIGKILL or a rebalance at
any moment neither loses nor repeats a projection. (In faust, a rebalance clears the agents'
queues; our SIGKILL test showed the DB-bound projector, the agent with the longest queue,
skipping events that way.)

Batches keep the database in step at high rates: one transaction per partition batch; if
it fails, each event is retried alone, so one bad event goes to `deadletter`, not its batch.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import events as ev
from hub import topics
from hub.bus import Bus
from hub.config import Settings
from hub.store import offsets, projection
from hub.store.db import make_engine, sessionmaker
from processors.base import Outcome, dead_letter, stats
from processors.positioned import PositionedConsumer

log = logging.getLogger("hub.projector")
#: (topic, partition) this process projects (and archives); readiness needs some
assigned_partitions: set[tuple[str, int]] = set()
archiving: set[tuple[str, int]] = set()


@dataclass(frozen=True, slots=True)
class Record:
    """What the projector needs of a consumed record (aiokafka's ConsumerRecord has these)."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


class ProjectorHandler:
    """Events -> the read model, each poll in one transaction with the offsets it reached.

    `on_records` returns what to publish (live frames, dead letters) instead of publishing;
    the consumer loop below publishes. If the batch's transaction fails, each event is
    retried alone, so one bad event goes to `deadletter`, not its batch."""

    name = "projector"
    fetch_max_wait_ms: int | None = None  # agents' screens wait on the read model: HUB_FETCH_MAX_WAIT_MS

    def __init__(self, settings: Settings, *, db: async_sessionmaker[AsyncSession], log_id: str) -> None:
        self.settings = settings
        self.db = db
        self.log_id = log_id  # the log its positions belong to

    def configure(self, settings: Settings) -> None:
        self.settings = settings

    async def _apply(self, events: Sequence[ev.Event], positions: dict[tuple[str, int], int]) -> list[dict[str, Any]]:
        async with self.db() as s, s.begin():
            frames = await projection.apply(s, events)
            await offsets.keep(s, self.name, positions, self.log_id)
        return frames

    async def on_records(self, batches: Mapping[Any, Sequence[Any]]) -> Outcome:
        """One transaction for everything one poll returned, offsets included."""
        decoded: list[tuple[Any, ev.Event | None, str]] = []
        for records in batches.values():
            for r in records:
                try:
                    decoded.append((r, ev.from_json(r.value), ""))
                except Exception as exc:  # noqa: BLE001 - else it would restart on this record forever
                    decoded.append((r, None, f"undecodable: {exc}"))
        good = [e for _, e, _ in decoded if e is not None]
        frames: list[dict[str, Any]] = []
        ends = {(records[-1].topic, records[-1].partition): records[-1].offset + 1 for records in batches.values() if records}
        try:
            frames = await self._apply(good, ends)
            failed = [(r, why) for r, e, why in decoded if e is None]
        except Exception:  # noqa: BLE001 - fall back to one event at a time
            log.warning("batch failed, projecting one by one", exc_info=True)
            failed = []
            for r, e, why in decoded:
                position = {(r.topic, r.partition): r.offset + 1}
                try:
                    frames.extend(await self._apply([e] if e else [], position))
                except Exception as exc:  # noqa: BLE001
                    why = f"{type(exc).__name__}: {exc}"
                    await self._apply([], position)
                if why:
                    failed.append((r, why))
        out = Outcome()
        for r, why in failed:
            out.publish.append(dead_letter("projector", r.topic, r.partition, r.offset, r.value or b"", why))
        stats["processed.projector"] += len(good)
        for frame in frames:
            cid = frame.get("conversation_id") or frame.get("conversation", {}).get("id", "")
            out.emit(topics.LIVE, cid, ev.ReadModelUpdated(conversation_id=cid, frame=frame))
        return out


async def serve(settings: Settings, log_id: str, stopping: asyncio.Event | None = None) -> None:
    """The projector, and the archiver when the archive is on, until cancelled: on a thread
    of the worker (start_in_thread) or as a process of its own (`contacthub projector`).
    `stopping` set: each consumer returns once it has read its partitions to their ends."""
    engine = make_engine(settings.database_url)
    bus = Bus(settings.kafka_bootstrap or "")
    await bus.start()
    ahead = None
    try:
        db = sessionmaker(engine)
        loops = [PositionedConsumer.run_forever(ProjectorHandler(settings, db=db, log_id=log_id), [topics.CONVERSATIONS],
                                                settings, db, bus, assigned_partitions, stopping)]
        if settings.archive:
            from hub.archive.writeahead import DatabaseWriteAhead
            from processors.archiver import ArchiverHandler

            ahead = DatabaseWriteAhead.beside(settings.database_url, db)
            loops.append(PositionedConsumer.run_forever(ArchiverHandler(db=db, log_id=log_id, ahead=ahead), topics.ARCHIVED,
                                                        settings, db, bus, archiving, stopping))
        await asyncio.gather(*loops)
    finally:
        await bus.stop()
        if ahead is not None:
            await ahead.close()
        await engine.dispose()


def start_in_thread(settings: Settings, log_id: str) -> threading.Thread:
    """The projector gets its own thread and event loop: on the loop it shared with the
    faust agents, a 20-event transaction that takes ~25 ms alone waited 250-750 ms for
    its turns, which was most of the hub's end-to-end latency. The archiver, the other
    consumer that writes the database with its offsets, shares it."""
    thread = threading.Thread(target=lambda: asyncio.run(serve(settings, log_id)), name="projector", daemon=True)
    thread.start()
    return thread
