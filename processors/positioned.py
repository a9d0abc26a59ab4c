"""A consumer whose positions live in the database, beside what its records changed.

The projector and the archiver are both one: their handler keeps the rows and the offsets
they reached in one transaction (hub/store/offsets.py), so a SIGKILL or a rebalance at any
moment neither loses nor repeats a record. The broker's consumer group only hands out the
partitions; a position is read back only for the log it was kept in."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Mapping, Protocol, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import topics
from hub.bus import Bus
from hub.config import Settings
from hub.store import offsets
from processors.base import Outcome

log = logging.getLogger("hub.processors")
BATCH = 500


async def seek_to_stored(consumer: AIOKafkaConsumer, db: async_sessionmaker[AsyncSession], name: str, reads: Sequence[str], log_id: str,
                         assigned: Sequence[TopicPartition], *, otherwise_beginning: bool = True) -> dict[TopicPartition, int]:
    """Each assigned partition at the position `name` kept for this log, or else at its
    beginning (or, `otherwise_beginning=False`, where the broker's group last committed).
    Returns the positions it set from the database."""
    async with db() as s:
        stored = await offsets.stored(s, name, reads, log_id)
    kept = {tp: stored[(tp.topic, tp.partition)] for tp in assigned if (tp.topic, tp.partition) in stored}
    for tp in assigned:
        if (tp.topic, tp.partition) in stored:
            consumer.seek(tp, stored[(tp.topic, tp.partition)])
        elif otherwise_beginning:
            await consumer.seek_to_beginning(tp)
    log.info("consumer assigned", extra={"consumer": name, "partitions": sorted(f"{tp.topic}:{tp.partition}" for tp in assigned)})
    return kept


class PositionedHandler(Protocol):
    name: str
    log_id: str
    #: how long a fetch may wait for records; None: HUB_FETCH_MAX_WAIT_MS (Tansu holds every
    #: fetch the whole wait, so a consumer nobody waits on asks seldom and takes more at once)
    fetch_max_wait_ms: int | None

    async def on_records(self, batches: Mapping[Any, Sequence[Any]]) -> Outcome: ...


class _FromDatabase(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: "PositionedConsumer") -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.loop.assigned.difference_update((tp.topic, tp.partition) for tp in revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.loop.seek_to_stored(list(assigned))


class PositionedConsumer:
    def __init__(self, handler: PositionedHandler, reads: Sequence[topics.TopicSpec], settings: Settings,
                 db: async_sessionmaker[AsyncSession], bus: Bus, assigned: set[Any], stopping: asyncio.Event | None = None) -> None:
        self.handler, self.reads, self.db, self.bus = handler, [t.name for t in reads], db, bus
        self.assigned = assigned  # (topic, partition) held now; readiness needs some
        self.stopping = stopping  # once set, `run` returns when it has reached the ends of its partitions
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=f"{settings.app_id}-{handler.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=handler.fetch_max_wait_ms or settings.fetch_max_wait_ms,
            **settings.group_timing_ms(),
            max_poll_records=BATCH,
        )

    async def seek_to_stored(self, assigned: list[TopicPartition]) -> None:
        await seek_to_stored(self.consumer, self.db, self.handler.name, self.reads, self.handler.log_id, assigned)
        self.assigned.update((tp.topic, tp.partition) for tp in assigned)

    async def run(self) -> None:
        self.consumer.subscribe(self.reads, listener=_FromDatabase(self))
        await self.consumer.start()
        try:
            while True:
                batches = await self.consumer.getmany(timeout_ms=200, max_records=BATCH)
                if batches:
                    await self.publish(await self.handler.on_records(batches))
                elif self.stopping is not None and self.stopping.is_set() and await self.at_ends():
                    log.info("consumer stopped at the ends of its partitions", extra={"consumer": self.handler.name})
                    return
        finally:
            self.assigned.clear()
            await self.consumer.stop()

    async def at_ends(self) -> bool:
        """Every assigned partition read to its end: on the embedded broker, whose log dies
        with it, what the archiver has not read by then is gone."""
        assigned = list(self.consumer.assignment())
        ends = await self.consumer.end_offsets(assigned) if assigned else {}
        for tp, end in ends.items():
            if await self.consumer.position(tp) < end:
                return False
        return True

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

    @classmethod
    async def run_forever(cls, *args: Any) -> None:
        while True:
            loop = cls(*args)
            try:
                await loop.run()
                return  # it was asked to stop and reached its ends
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - restart rather than stop
                log.exception("consumer stopped; restarting", extra={"consumer": loop.handler.name})
                await asyncio.sleep(1.0)
