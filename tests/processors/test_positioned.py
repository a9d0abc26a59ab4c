"""A positioned consumer (the projector, the archiver) asked to stop reads its partitions to
their ends first: `contacthub run` stops it after the roles that write the log, and the
embedded broker's log, with whatever the archiver has not read, dies with it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Mapping, Sequence

import pytest
from aiokafka import AIOKafkaProducer

from hub import config, topics
from hub.broker import EmbeddedBroker
from hub.bus import Bus, ensure_topics
from hub.store import db as store_db
from processors.base import Outcome
from processors.positioned import PositionedConsumer

pytestmark = pytest.mark.integration


class Recorder:
    name = "recorder"
    log_id = "log-1"
    fetch_max_wait_ms: int | None = 500  # as the archiver's: a fetch Tansu holds the whole wait

    def __init__(self) -> None:
        self.seen: set[tuple[int, int]] = set()

    async def on_records(self, batches: Mapping[Any, Sequence[Any]]) -> Outcome:
        for records in batches.values():
            self.seen.update((r.partition, r.offset) for r in records)
        return Outcome()


async def produce(bootstrap: str, first: int, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(first, first + count):
            await producer.send(topics.CONVERSATIONS.name, key=f"contact-{i % 7}".encode(), value=b'{"n": %d}' % i)
        await producer.flush()
    finally:
        await producer.stop()


async def test_asked_to_stop_it_reads_to_the_ends_then_returns(tmp_path: Path) -> None:
    broker = EmbeddedBroker(log_file=tmp_path / "broker.log")
    broker.start()
    try:
        await broker.wait_ready()
        settings = config.load({"HUB_VAR_DIR": str(tmp_path / "var"), "HUB_KAFKA_BOOTSTRAP": broker.bootstrap,
                                "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/hub.db", "HUB_GROUP_SESSION_SECONDS": "2"})
        await ensure_topics(settings)
        await store_db.migrate(settings.database_url)
        engine = store_db.make_engine(settings.database_url)
        bus = Bus(broker.bootstrap)
        await bus.start()
        recorder, stopping = Recorder(), asyncio.Event()
        try:
            await produce(broker.bootstrap, 0, 50)
            task = asyncio.ensure_future(PositionedConsumer.run_forever(recorder, [topics.CONVERSATIONS], settings,
                                                                        store_db.sessionmaker(engine), bus, set(), stopping))
            async with asyncio.timeout(60):
                while len(recorder.seen) < 50:
                    await asyncio.sleep(0.1)
            await produce(broker.bootstrap, 50, 400)
            stopping.set()  # at once, while most of the 400 are still unread
            unread_at_stop = 450 - len(recorder.seen)
            await asyncio.wait_for(task, 30)
            assert unread_at_stop > 0
            assert len(recorder.seen) == 450
        finally:
            await bus.stop()
            await engine.dispose()
    finally:
        broker.stop()
