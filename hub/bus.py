"""The producer every edge uses, and topic creation.

acks="all" so an accepted message survives a broker failover in production. No idempotence
and no transactions: aiokafka's InitProducerId v0 is refused by the embedded Tansu, and event
ids already make every consumer idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Iterable, Protocol, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from hub import topics
from hub.config import Settings
from hub.events import Event

log = logging.getLogger("hub.bus")


class BrokerUnavailable(RuntimeError):
    """The broker did not acknowledge; the caller must not acknowledge its sender."""


class WriteAhead(Protocol):
    """Where an edge keeps an input before it answers (hub/archive/writeahead.py)."""

    async def keep(self, topic: str, items: Sequence[tuple[str, bytes, bytes]]) -> list[str]: ...

    async def forget(self, event_ids: Sequence[str]) -> None: ...

    async def close(self) -> None: ...


class Bus:
    def __init__(self, bootstrap: str, *, send_timeout: float = 10.0, write_ahead: WriteAhead | None = None) -> None:
        self.bootstrap = bootstrap
        self.send_timeout = send_timeout
        self.write_ahead = write_ahead  # for the topics of topics.ARCHIVED, when the archive is on
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            linger_ms=5,
            request_timeout_ms=int(self.send_timeout * 1000),
            retry_backoff_ms=100,
            enable_idempotence=False,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, topic: topics.TopicSpec, key: str, event: Event) -> None:
        """Returns once the broker acknowledged the event (acks=all)."""
        await self.publish_many(topic, [(key, event)])

    async def publish_many(self, topic: topics.TopicSpec, items: Iterable[tuple[str, Event]]) -> None:
        if self._producer is None:
            raise BrokerUnavailable("producer not started")
        records = [(event.id, key.encode(), event.to_json()) for key, event in items]
        kept: list[str] = []
        if self.write_ahead is not None and topic in topics.ARCHIVED:
            kept = await self.write_ahead.keep(topic.name, records)
        try:
            futures = [await self._producer.send(topic.name, value, key=key) for _, key, value in records]
            await asyncio.wait_for(asyncio.gather(*futures), self.send_timeout)
        except (KafkaError, asyncio.TimeoutError, OSError) as exc:
            log.warning("broker did not acknowledge", extra={"topic": topic.name, "error": repr(exc)})
            if kept:
                # the sender hears 503 and will send again; a refill must not publish these
                await self.write_ahead.forget(kept)  # type: ignore[union-attr]
            raise BrokerUnavailable(str(exc) or type(exc).__name__) from exc


async def ensure_topics(settings: Settings, *, attempts: int = 50) -> None:
    """Create every topic with its configured partition count; existing topics are left alone."""
    last: Exception | None = None
    for _ in range(attempts):
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            wanted = [
                NewTopic(t.name, t.partitions_in(settings), settings.replication_factor)
                for t in topics.ALL
                if t.name not in existing
            ]
            if wanted:
                try:
                    await admin.create_topics(wanted)
                except TopicAlreadyExistsError:
                    pass
            return
        except (KafkaError, OSError) as exc:
            last = exc
            await asyncio.sleep(0.2)
        finally:
            await admin.close()
    raise BrokerUnavailable(f"could not create topics on {settings.kafka_bootstrap}: {last}")


async def assign_all(consumer: AIOKafkaConsumer, names: Iterable[str], *, from_end: bool) -> list[TopicPartition]:
    """Assign a started, group-less consumer every partition of `names` and fix its
    positions (at the end, or the beginning) before returning, so nothing published after
    the call is missed. Waits for metadata of topics created a moment ago."""
    parts: list[TopicPartition] = []
    for name in names:
        found: set[int] | None = None
        for _ in range(100):
            found = consumer.partitions_for_topic(name)
            if found:
                break
            await consumer._client.force_metadata_update()  # noqa: SLF001 - no public call
            await asyncio.sleep(0.1)
        if not found:
            raise BrokerUnavailable(f"topic {name} has no partitions in the metadata")
        parts += [TopicPartition(name, p) for p in sorted(found)]
    consumer.assign(parts)
    await (consumer.seek_to_end(*parts) if from_end else consumer.seek_to_beginning(*parts))
    for tp in parts:
        await consumer.position(tp)
    return parts
