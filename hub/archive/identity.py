"""The log's identity: the first record of `hub.log` names this life of the log.

Tansu's cluster id is the same on every start, so it says nothing; an empty embedded
broker after a restart looks like the old one with its records gone. The mark is written
once, by whoever prepares the log (hub/archive/refill.py), and read by every role that
keeps positions outside the broker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from hub import topics
from hub.bus import assign_all
from hub.events import utcnow


@dataclass(frozen=True, slots=True)
class Mark:
    log_id: str
    at: datetime
    refilled_from: str | None = None

    def to_json(self) -> bytes:
        return json.dumps({"log_id": self.log_id, "at": self.at.isoformat(), "refilled_from": self.refilled_from}).encode()

    @classmethod
    def from_json(cls, value: bytes) -> "Mark":
        data = json.loads(value)
        return cls(str(data["log_id"]), datetime.fromisoformat(data["at"]), data.get("refilled_from"))


async def read_mark(bootstrap: str) -> Mark | None:
    """The first record of `hub.log`, or None for a log nobody marked yet."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        await assign_all(consumer, [topics.LOG.name], from_end=False)
        tp = TopicPartition(topics.LOG.name, 0)
        if (await consumer.end_offsets([tp]))[tp] == 0:
            return None
        record = await consumer.getone(tp)
        return Mark.from_json(record.value)
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, names: list[str]) -> dict[tuple[str, int], int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = await assign_all(consumer, names, from_end=True)
        return {(tp.topic, tp.partition): o for tp, o in (await consumer.end_offsets(parts)).items()}
    finally:
        await consumer.stop()


async def write_mark(producer: AIOKafkaProducer, log_id: str, refilled_from: str | None) -> Mark:
    mark = Mark(log_id, utcnow(), refilled_from)
    await producer.send_and_wait(topics.LOG.name, mark.to_json(), key=log_id.encode(), partition=0)
    return mark
