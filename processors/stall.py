"""Records waiting on a partition that nothing reads, while nothing rebalances.

faust-streaming's consumer can stop fetching a partition, or its agent stop reading one,
after a rebalance or a coordinator's death, and stay so with no error (faust-streaming
issues #175 and #523; seen once here: a worker started again after a SIGKILL left 160 of
5,000 messages unthreaded). The watch notices such a partition from faust's committed
and read offsets and the log's end, says so, resumes what faust left paused, and when that does not
help ends the process so that its supervisor (`contacthub run`, systemd, Kubernetes)
starts a fresh one. Every record is still in the log and every handler takes a record it
already took as a no-op (docs/design.md), so ending loses nothing."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Hashable, Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger("hub.worker")
EXIT_CODE = 70  # EX_SOFTWARE: the supervisor starts the worker again


@dataclass(frozen=True)
class Reading:
    """One partition at one moment: what the worker committed (the next offset it would
    read again after a restart, None before its first commit), the last offset it read
    (handed to its agents) and where the log ends."""

    committed: int | None
    end: int
    read: int | None = None

    @property
    def progress(self) -> tuple[int | None, int | None]:
        """What moves while a partition is read: an overloaded worker can go a long while
        without a commit on a partition (one slow agent holds its acks) while reading it."""
        return (self.committed, self.read)

    @property
    def waiting(self) -> int:
        return self.end - (self.committed or 0)


class StallWatch:
    """Which partitions have records waiting and no progress for `after` seconds. Pure:
    the caller reads the consumer and the clock."""

    def __init__(self, after: float) -> None:
        self.after = after
        self.marks: dict[Hashable, tuple[tuple[int | None, int | None], float]] = {}  # partition -> (progress, since when)

    def observe(self, readings: Mapping[Hashable, Reading], now: float, settling: bool) -> list[Hashable]:
        """The stalled partitions among `readings`. While `settling` (rebalancing, tables
        recovering) nothing is judged and every clock starts again afterwards."""
        if settling:
            self.marks.clear()
            return []
        marks: dict[Hashable, tuple[tuple[int | None, int | None], float]] = {}
        stalled: list[Hashable] = []
        for tp, reading in readings.items():
            before = self.marks.get(tp)
            if reading.waiting <= 0 or before is None or before[0] != reading.progress:
                marks[tp] = (reading.progress, now)
                continue
            marks[tp] = before
            if now - before[1] >= self.after:
                stalled.append(tp)
        self.marks = marks
        return sorted(stalled, key=str)

    def forgive(self, partitions: list[Hashable], now: float) -> None:
        """Another full period for `partitions` (after resuming them)."""
        for tp in partitions:
            if tp in self.marks:
                self.marks[tp] = (self.marks[tp][0], now)


Ends = Callable[[Sequence[Any]], Awaitable[Mapping[Any, int]]]


class LogEnds:
    """Where the log ends, asked on a client of its own: asking faust's consumer
    (`highwaters`, a call into its fetching thread) every few seconds made it stall itself
    in the worker-kill test."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.client: AIOKafkaConsumer | None = None

    async def __call__(self, partitions: Sequence[Any]) -> Mapping[Any, int]:
        if self.client is None:
            client = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False)
            await client.start()
            self.client = client
        ends = await self.client.end_offsets([TopicPartition(tp.topic, tp.partition) for tp in partitions])
        return {(tp.topic, tp.partition): int(end) for tp, end in ends.items()}

    async def close(self) -> None:
        if self.client is not None:
            await self.client.stop()
            self.client = None


class FaustStallGuard:
    """The watch over one faust app's consumer: the first stall of a partition resumes it
    (faust's own pause and flow control), a second one in a row ends the process."""

    def __init__(self, app: Any, after: float, ends: Ends, *, clock: Callable[[], float] = time.monotonic,
                 end_process: Callable[[int], Any] = os._exit) -> None:
        self.app = app
        self.ends = ends
        self.watch = StallWatch(after)
        self.clock = clock
        self.end_process = end_process
        self.resumed: dict[Hashable, tuple[int | None, int | None]] = {}  # partition -> its progress when resumed
        self.last: dict[Hashable, tuple[int | None, int | None]] = {}  # every partition's progress at the last reading

    def settling(self) -> bool:
        return bool(self.app.rebalancing or getattr(self.app, "in_recovery", False))

    def backpressure(self) -> bool:
        """faust reads every partition in one loop, which waits while an agent's buffer is
        full or the producer's is over its limit: a partition not read then is queued behind
        the others (an overloaded worker), not stalled, as long as the others move."""
        try:
            channels = list(self.app.topics._topics)
            producer = self.app.producer.buffer
        except AttributeError:
            return False
        return producer.size > producer.max_messages or any(chan.queue.full() for chan in channels)

    async def readings(self) -> dict[Hashable, Reading]:
        consumer = self.app.consumer
        partitions = [tp for tp in consumer.assignment() if not consumer._is_changelog_tp(tp)]
        if not partitions:
            return {}
        ends = await self.ends(partitions)
        return {tp: Reading(consumer._committed_offset.get(tp), ends[(tp.topic, tp.partition)], consumer._read_offset.get(tp))
                for tp in partitions if (tp.topic, tp.partition) in ends}

    async def check(self) -> list[Hashable]:
        """One reading and what follows from it; the stalled partitions."""
        settling = self.settling()
        try:
            readings = {} if settling else await self.readings()
        except Exception:  # noqa: BLE001 - consumer not started, or the broker away: judged next time
            log.debug("stall watch could not read the consumer", exc_info=True)
            return []
        now = self.clock()
        progress = {tp: r.progress for tp, r in readings.items()}
        busy = bool(self.last) and bool(progress) and progress != self.last and self.backpressure()
        self.last = progress
        if settling or busy:
            self.resumed.clear()
        stalled = self.watch.observe(readings, now, settling or busy or self.settling())
        for tp, reading in readings.items():  # a resumed partition that moved is forgiven
            if tp in self.resumed and (reading.waiting <= 0 or reading.progress != self.resumed[tp]):
                del self.resumed[tp]
        if not stalled:
            return []
        consumer = self.app.consumer
        detail = {
            "partitions": [f"{tp.topic}/{tp.partition}" for tp in stalled],
            "waiting": {f"{tp.topic}/{tp.partition}": readings[tp].waiting for tp in stalled},
            "paused": sorted(f"{tp.topic}/{tp.partition}" for tp in getattr(consumer, "_paused_partitions", ()) if tp in stalled),
            "flow_suspended": bool(getattr(consumer, "suspend_flow", None) and consumer.suspend_flow.is_set()),
            "buffered": sorted(f"{tp.topic}/{tp.partition}" for tp in getattr(consumer, "_buffered_partitions", ()) if tp in stalled),
            "stalled_seconds": self.watch.after,
        }
        again = [tp for tp in stalled if tp in self.resumed]
        if again:
            log.error("consumer still stalled after resuming; ending the worker for a fresh start", extra=detail)
            for handler in logging.getLogger().handlers:
                handler.flush()
            self.end_process(EXIT_CODE)
            return stalled
        log.warning("consumer stalled: records waiting, nothing read; resuming", extra=detail)
        consumer.resume_partitions(stalled)
        consumer.resume_flow()
        for tp in stalled:  # taken out of the fetch for a full buffer, and never put back
            if tp in getattr(consumer, "_buffered_partitions", ()):
                consumer.on_buffer_drop(tp)
        self.resumed.update({tp: readings[tp].progress for tp in stalled})
        self.watch.forgive(stalled, now)
        return stalled
