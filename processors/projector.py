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
from typing import Any, Sequence

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
from processors.base import stats

log = logging.getLogger("hub.projector")
BATCH = 500
#: partitions this process projects; readiness needs some
assigned_partitions: set[int] = set()


class OffsetsFromDatabase(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, projector: "Projector") -> None:
        self.projector = projector

    async def on_partitions_revoked(self, revoked: Any) -> None:
        assigned_partitions.difference_update(tp.partition for tp in revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.projector.seek_to_stored(list(assigned))


class Projector:
    def __init__(self, settings: Settings, db: async_sessionmaker[AsyncSession], bus: Bus) -> None:
        self.settings = settings
        self.db = db
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
        async with self.db() as s:
            rows = await s.scalars(select(ProjectorOffset).where(ProjectorOffset.topic == topics.CONVERSATIONS.name))
            stored = {r.partition: r.next_offset for r in rows}
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
                    await self.on_records(batches)
        finally:
            await self.consumer.stop()

    async def _apply(self, events: Sequence[ev.Event], positions: dict[TopicPartition, int]) -> list[dict[str, Any]]:
        async with self.db() as s, s.begin():
            frames = await projection.apply(s, events)
            for tp, next_offset in positions.items():
                stmt = insert_for(s, ProjectorOffset).values(topic=tp.topic, partition=tp.partition, next_offset=next_offset)
                await s.execute(stmt.on_conflict_do_update(index_elements=["topic", "partition"], set_={"next_offset": next_offset}))
        return frames

    async def on_records(self, batches: dict[TopicPartition, Sequence[Any]]) -> None:
        """One transaction for everything one poll returned, offsets included."""
        decoded: list[tuple[TopicPartition, Any, ev.Event | None, str]] = []
        for tp, records in batches.items():
            for r in records:
                try:
                    decoded.append((tp, r, ev.from_json(r.value), ""))
                except Exception as exc:  # noqa: BLE001 - else it would restart on this record forever
                    decoded.append((tp, r, None, f"undecodable: {exc}"))
        good = [e for _, _, e, _ in decoded if e is not None]
        frames: list[dict[str, Any]] = []
        try:
            frames = await self._apply(good, {tp: records[-1].offset + 1 for tp, records in batches.items()})
            failed = [(r, why) for _, r, e, why in decoded if e is None]
        except Exception:  # noqa: BLE001 - fall back to one event at a time
            log.warning("batch failed, projecting one by one", exc_info=True)
            failed = []
            for tp, r, e, why in decoded:
                try:
                    frames.extend(await self._apply([e] if e else [], {tp: r.offset + 1}))
                except Exception as exc:  # noqa: BLE001
                    why = f"{type(exc).__name__}: {exc}"
                    await self._apply([], {tp: r.offset + 1})
                if why:
                    failed.append((r, why))
        for r, why in failed:
            await self.dead_letter(r, why)
        stats["processed.projector"] += len(good)
        await self.publish(frames)

    async def dead_letter(self, record: Any, reason: str) -> None:
        letter = ev.DeadLettered(
            id=ev.derived_id("deadletter", "projector", record.topic, str(record.partition), str(record.offset)),
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            processor="projector",
            reason=reason[:2000],
            payload=(record.value or b"").decode("utf-8", "replace")[:10000],
        )
        log.error("event dead-lettered", extra={"processor": "projector", "offset": record.offset, "reason": reason[:300]})
        await self.bus.publish(topics.DEADLETTER, record.topic, letter)

    async def publish(self, frames: list[dict[str, Any]]) -> None:
        items = []
        for frame in frames:
            cid = frame.get("conversation_id") or frame.get("conversation", {}).get("id", "")
            items.append((cid, ev.ReadModelUpdated(conversation_id=cid, frame=frame)))
        if items:
            # Live pushes are best effort: the read model already has the change.
            try:
                await self.bus.publish_many(topics.LIVE, items)
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
