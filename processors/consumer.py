"""A processor on a consumer group of its own, beside the faust agents on the worker's loop.

Dispatch and the notifier wait on providers (Telegram's retry_after up to 60 s, the 0.5-8 s
backoff). As faust agents, a long wait filled their stream buffer and faust then paused the
partition for every agent reading it, so intake, routing and SLA stalled behind a provider.
On their own group only their own fetching waits. Positions are kept after the records were
handled and their changes kept (at least once: a redelivered reply is not sent again,
processors/sends.py), in the database with the log's identity as the projector's are
(processors/positioned.py): after a refill the senders go on where they were instead of
reading the whole history again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any, Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.bus import Bus
from hub.config import Settings
from hub.store import offsets
from processors.agents import Member, process_batch
from processors.base import Handler, Publication
from processors.catchup import CatchUp
from processors.pipeline import Processor
from processors.positioned import seek_to_stored

log = logging.getLogger("hub.processors")
BATCH = 100
# Tansu holds a fetch for the whole wait: at the worker's 10 ms these groups sent ~100 fetch
# requests a second each, on the worker's loop; a reply or a notice may wait 100 ms instead.
FETCH_MAX_WAIT_MS = 100
COMMIT_EVERY = 0.5  # seconds; what was handled since is handled again after a crash, and sent once

#: processor name -> partitions this process holds for it; readiness needs some for each
assigned: dict[str, set[int]] = defaultdict(set)


class _Assignment(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, group: "OwnGroup") -> None:
        self.group = group

    async def on_partitions_revoked(self, revoked: Any) -> None:
        assigned[self.group.name].difference_update(tp.partition for tp in revoked)
        await self.group.commit([tp for tp in revoked])

    async def on_partitions_assigned(self, new: Any) -> None:
        # another worker may have kept changes while it held these partitions
        for _, handler in self.group.members:
            await handler.load()
        if self.group.consumer is not None:
            # a group that kept no position for this log yet (an install from before) goes on
            # from what it committed to the broker then
            kept = await seek_to_stored(self.group.consumer, self.group.db, self.group.name, self.group.reads, self.group.log_id(), list(new),
                                        otherwise_beginning=False)
            if self.group.catchup is not None:
                for tp, position in kept.items():  # at the refill's end already: nothing of history to wait for
                    for spec, _ in self.group.members:
                        self.group.catchup.starts_at(spec.name, tp.topic, tp.partition, position)
        assigned[self.group.name].update(tp.partition for tp in new)
        log.info("consumer group assigned", extra={"group": self.group.name, "partitions": sorted(tp.partition for tp in new)})


class OwnGroup:
    """One consumer for the processors of one group: each record goes to every member that
    reads its topic, in order; the members wait on each other, on nobody else."""

    def __init__(self, name: str, members: Sequence[tuple[Processor, Handler]], settings: Settings, bus: Bus,
                 db: async_sessionmaker[AsyncSession], log_id: Callable[[], str], catchup: CatchUp | None = None) -> None:
        self.name, self.members, self.settings, self.bus = name, list(members), settings, bus
        self.db, self.log_id = db, log_id  # the log is known once the worker started
        self.reads = sorted({t.name for spec, _ in self.members for t in spec.reads})
        self.catchup = catchup  # after a refill: what the log already has is not published again
        self.consumer: AIOKafkaConsumer | None = None
        self.handled: dict[Any, int] = {}  # partition -> next offset, handled but not committed
        self.batch_members = [Member(spec, handler, handler.table, persist=True) for spec, handler in self.members]

    async def commit(self, partitions: Sequence[Any] | None = None) -> None:
        """Keep what was handled (of `partitions`, or all); a failure only means those
        records are handled again by the next owner, which sends nothing twice."""
        wanted = {tp: o for tp, o in self.handled.items() if partitions is None or tp in partitions}
        if not wanted or self.consumer is None:
            return
        try:
            async with self.db() as s, s.begin():
                await offsets.keep(s, self.name, {(tp.topic, tp.partition): o for tp, o in wanted.items()}, self.log_id())
        except Exception:  # noqa: BLE001 - the database away for a moment; the next owner handles them again
            log.warning("offsets not kept", extra={"group": self.name}, exc_info=True)
        for tp in wanted:
            self.handled.pop(tp, None)

    async def publish(self, publications: Sequence[Publication]) -> None:
        by_topic: dict[Any, list[tuple[str, Any]]] = {}
        for p in publications:
            by_topic.setdefault(p.topic, []).append((p.key, p.event))
        for topic, items in by_topic.items():
            await self.bus.publish_many(topic, items)

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=f"{self.settings.app_id}-{self.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=max(self.settings.fetch_max_wait_ms, FETCH_MAX_WAIT_MS),
            **self.settings.group_timing_ms(),
            max_poll_records=BATCH,
        )
        consumer.subscribe(self.reads, listener=_Assignment(self))
        await consumer.start()
        self.consumer, self.handled = consumer, {}
        committed_at = time.monotonic()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=BATCH)
                for tp, records in batches.items():
                    await process_batch(self.batch_members, records, self.publish, catchup=self.catchup)
                    self.handled[tp] = records[-1].offset + 1
                # a commit per poll was one broker round trip per partition, many a second under load
                if self.handled and time.monotonic() - committed_at >= COMMIT_EVERY:
                    await self.commit()
                    committed_at = time.monotonic()
        finally:
            assigned[self.name].clear()
            await self.commit()
            self.consumer = None
            await consumer.stop()

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - restart rather than stop sending
                log.exception("consumer group stopped; restarting", extra={"group": self.name})
                await asyncio.sleep(1.0)
