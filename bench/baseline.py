"""The floor: raw aiokafka produce -> consume on the hub's own broker, same rates."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from bench.load import open_loop, wait_until
from bench.stats import summarise
from hub.bus import assign_all

TOPIC = "bench.baseline"
PARTITIONS = 4


class Baseline:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.task: asyncio.Task[None] | None = None
        self.seen: dict[str, float] = {}

    async def start(self, timeout: float = 30) -> None:
        await asyncio.wait_for(self._start(), timeout)

    async def _start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
        except TopicAlreadyExistsError:
            pass
        finally:
            await admin.close()
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=10)
        await self.consumer.start()
        await assign_all(self.consumer, [TOPIC], from_end=True)
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=1)
        await self.producer.start()
        self.task = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        assert self.consumer is not None
        while True:
            batches = await self.consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    self.seen.setdefault((record.key or b"").decode(), now)

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        for client in (self.producer, self.consumer):
            if client is not None:
                try:
                    await asyncio.wait_for(client.stop(), 10)
                except Exception:  # noqa: BLE001 - shutting down
                    pass

    async def run(self, rate: int, seconds: float, drain: float) -> dict[str, Any]:
        assert self.producer is not None
        if self.task is not None and self.task.done():
            raise RuntimeError(f"baseline consumer stopped: {self.task.exception()!r}")
        producer = self.producer
        run = uuid.uuid4().hex[:8]
        started: dict[str, float] = {}
        accepted: set[str] = set()
        errors: Counter[str] = Counter()
        lag: list[float] = []
        first: list[float] = []
        # A payload of about the size of the hub's inbound event.
        pad = "x" * 300

        async def send(i: int) -> None:
            token = f"{run}-{i}"
            t0 = time.perf_counter()
            if not first:
                first.append(t0)
            started[token] = t0
            try:
                # The key carries the token and spreads the records over the partitions.
                await producer.send_and_wait(TOPIC, f'{{"i":{i},"pad":"{pad}"}}'.encode(), key=token.encode())
                accepted.add(token)
            except asyncio.CancelledError:
                errors["cancelled (no ack in time)"] += 1
                raise
            except Exception as exc:  # noqa: BLE001 - counted, not raised
                errors[type(exc).__name__] += 1

        await open_loop(rate, seconds, send, lag, timeout=45)
        await wait_until(lambda: accepted <= self.seen.keys(), time.perf_counter() + drain)
        seen = {t: self.seen[t] for t in started if t in self.seen}
        return summarise(offered=rate, started=started, accepted=accepted, seen=seen, errors=errors,
                         send_lag_ms=lag, first_send=first[0] if first else None)
