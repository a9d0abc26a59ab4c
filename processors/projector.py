"""projector: conversation.events -> the read model, then `live` frames for agent sockets.

It runs in the worker beside the faust agents but keeps its own position: an aiokafka
consumer group whose offsets are written in the same database transaction as the rows they
produced. The read model and its position cannot disagree, so a SIGKILL or a rebalance at
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

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import events as ev
from hub import topics
from hub.bus import Bus
from hub.config import Settings
from hub.store import projection
from hub.store.db import insert_for, make_engine, sessionmaker
from hub.store.models import ProjectorOffset
from processors.base import Outcome, dead_letter, stats

log = logging.getLogger("hub.projector")
BATCH = 500
#: partitions this process projects; readiness needs some
assigned_partitions: set[int] = set()


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

    def __init__(self, settings: Settings, *, db: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.db = db

    def configure(self, settings: Settings) -> None:
        self.settings = settings

    async def stored_offsets(self) -> dict[int, int]:
        async with self.db() as s:
            rows = await s.scalars(select(ProjectorOffset).where(ProjectorOffset.topic == topics.CONVERSATIONS.name))
            return {r.partition: r.next_offset for r in rows}

    async def _apply(self, events: Sequence[ev.Event], positions: dict[tuple[str, int], int]) -> list[dict[str, Any]]:
        async with self.db() as s, s.begin():
            frames = await projection.apply(s, events)
            for (topic, partition), next_offset in positions.items():
                stmt = insert_for(s, ProjectorOffset).values(topic=topic, partition=partition, next_offset=next_offset)
                await s.execute(stmt.on_conflict_do_update(index_elements=["topic", "partition"], set_={"next_offset": next_offset}))
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


class OffsetsFromDatabase(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, projector: "Projector") -> None:
        self.projector = projector

    async def on_partitions_revoked(self, revoked: Any) -> None:
        assigned_partitions.difference_update(tp.partition for tp in revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.projector.seek_to_stored(list(assigned))


class Projector:
    """The consumer loop around ProjectorHandler: its own group, positions from the database."""

    def __init__(self, settings: Settings, db: async_sessionmaker[AsyncSession], bus: Bus) -> None:
        self.handler = ProjectorHandler(settings, db=db)
        self.bus = bus
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=f"{settings.app_id}-projector",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            rebalance_timeout_ms=6000,
            max_poll_records=BATCH,
        )

    async def seek_to_stored(self, assigned: list[TopicPartition]) -> None:
        stored = await self.handler.stored_offsets()
        for tp in assigned:
            if tp.partition in stored:
                self.consumer.seek(tp, stored[tp.partition])
            else:
                await self.consumer.seek_to_beginning(tp)
        assigned_partitions.update(tp.partition for tp in assigned)
        log.info("projector assigned", extra={"partitions": sorted(tp.partition for tp in assigned)})

    async def run(self) -> None:
        self.consumer.subscribe([topics.CONVERSATIONS.name], listener=OffsetsFromDatabase(self))
        await self.consumer.start()
        try:
            while True:
                batches = await self.consumer.getmany(timeout_ms=200, max_records=BATCH)
                if batches:
                    await self.publish(await self.handler.on_records(batches))
        finally:
            await self.consumer.stop()

    async def publish(self, outcome: Outcome) -> None:
        letters = [(p.key, p.event) for p in outcome.publish if p.topic == topics.DEADLETTER]
        if letters:
            await self.bus.publish_many(topics.DEADLETTER, letters)
        frames = [(p.key, p.event) for p in outcome.publish if p.topic == topics.LIVE]
        if frames:
            # Live pushes are best effort: the read model already has the change.
            try:
                await self.bus.publish_many(topics.LIVE, frames)
            except Exception:  # noqa: BLE001
                log.warning("live frames not published", exc_info=True)


def start_in_thread(settings: Settings) -> threading.Thread:
    """The projector gets its own thread and event loop: on the loop it shared with the
    faust agents, a 20-event transaction that takes ~25 ms alone waited 250-750 ms for
    its turns, which was most of the hub's end-to-end latency."""

    def main() -> None:
        async def serve() -> None:
            engine = make_engine(settings.database_url)
            bus = Bus(settings.kafka_bootstrap or "")
            await bus.start()
            try:
                await run_forever(settings, sessionmaker(engine), bus)
            finally:
                await bus.stop()
                await engine.dispose()

        asyncio.run(serve())

    thread = threading.Thread(target=main, name="projector", daemon=True)
    thread.start()
    return thread


async def run_forever(settings: Settings, db: async_sessionmaker[AsyncSession], bus: Bus) -> None:
    while True:
        try:
            await Projector(settings, db, bus).run()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - restart rather than stop projecting
            log.exception("projector stopped; restarting")
            await asyncio.sleep(1.0)
