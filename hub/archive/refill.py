"""Prepare the log before any role reads it: use its mark, or mark a new log, writing the
archive back into it first when the embedded broker came up empty.

`contacthub run` (and `contacthub refill`) call `prepare_log(refill=True)` after creating
the topics and before starting the worker and web; a worker on its own calls it with
refill=False and, with the archive on, refuses a log nobody prepared: it would rebuild
nothing and trust nothing, and the refill that comes later would land after its records.

The refill writes each partition's archived records back in order through one producer,
so every record gets the offset it had: the positions kept in the database (the
projector's, the archiver's and the senders', re-tagged to the new log here), dead-letter
ids and derived ids stay valid.
It then publishes the inputs that were written ahead but never archived, and tells routing
that nobody is online (agents' sockets say so again as they reconnect)."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import events as ev
from hub import topics
from hub.archive.identity import Mark, end_offsets, read_mark, write_mark
from hub.archive.writeahead import DatabaseWriteAhead
from hub.config import Settings
from hub.store import archive, lookups, offsets, workers
from hub.store.db import advisory_lock, advisory_unlock, make_engine, sessionmaker
from hub.store.models import LogIncarnation

log = logging.getLogger("hub.archive")
CHUNK = 2000  # archived records read and sent per round
REFILL_LOCK = 7214001  # PostgreSQL advisory lock key


class LogNotReady(RuntimeError):
    """The log has no identity and this process may not give it one."""


class RefillFailed(RuntimeError):
    """The archive cannot be written back as it was (a gap, or a log that is not empty)."""


@dataclass(frozen=True)
class LogState:
    """The log this run reads: its id and, if it was refilled, where the refill ended."""

    log_id: str
    refilled_from: str | None = None
    ends: dict[tuple[str, int], int] = field(default_factory=dict)  # refilled (topic, partition) -> end offset
    records: int = 0
    republished: int = 0
    seconds: float = 0.0

    @property
    def refilled(self) -> bool:
        return bool(self.ends)


def _key(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


def _ends_of(row: LogIncarnation) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    for name, end in (row.refill_ends or {}).items():
        topic, _, partition = name.rpartition(":")
        out[(topic, int(partition))] = int(end)
    return out


@asynccontextmanager
async def _refill_lock(settings: Settings, db: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    """One refill at a time for one database: two `run`s on one database would otherwise
    both find the log empty and both write the archive back."""
    if settings.database_url.startswith("postgresql"):
        async with db() as s:
            await advisory_lock(s, REFILL_LOCK)
            try:
                yield
            finally:
                await advisory_unlock(s, REFILL_LOCK)
        return
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.var_dir / "refill.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


async def _known(db: async_sessionmaker[AsyncSession], mark: Mark) -> LogState:
    async with db() as s, s.begin():
        row = await archive.incarnation(s, mark.log_id)
        if row is None:  # marked by a worker with the archive off, or by another database's hub
            await archive.note_incarnation(s, mark.log_id, mark.at, mark.refilled_from)
            return LogState(mark.log_id, mark.refilled_from)
        return LogState(row.id, row.refilled_from, _ends_of(row), row.refilled_records)


async def prepare_log(settings: Settings, *, refill: bool) -> LogState:
    if not settings.kafka_bootstrap:
        raise LogNotReady("no broker named (HUB_KAFKA_BOOTSTRAP)")
    engine = make_engine(settings.database_url)
    db = sessionmaker(engine)
    try:
        mark = await read_mark(settings.kafka_bootstrap)
        if mark is not None:
            return await _known(db, mark)
        if not refill and settings.archive:
            raise LogNotReady("this log has no identity yet, so the archive was not written back into it: "
                              "start the hub with `contacthub run`, or run `contacthub refill` before the worker")
        async with _refill_lock(settings, db):
            mark = await read_mark(settings.kafka_bootstrap)  # another process may have prepared it meanwhile
            if mark is not None:
                return await _known(db, mark)
            return await _new_log(settings, db)
    finally:
        await engine.dispose()


async def _new_log(settings: Settings, db: async_sessionmaker[AsyncSession]) -> LogState:
    started = time.monotonic()
    log_id = uuid.uuid4().hex
    async with db() as s:
        previous = await workers.current_log(s)
        archived = await archive.archived_count(s)
        untagged = await offsets.untagged(s)
    if untagged and previous is None:
        log.warning("database from before the log archive: its positions belong to a log this hub has not seen and are not used; "
                    "conversations, contacts and history stay, the processors' state of that run (running clocks, ladders, "
                    "queues) cannot come back, and new messages flow", extra={"log_id": log_id, "positions": untagged})
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20, enable_idempotence=False,
                                max_batch_size=1024 * 1024, max_request_size=8 * 1024 * 1024)
    await producer.start()
    try:
        ends: dict[tuple[str, int], int] = {}
        records = 0
        if settings.archive and archived:
            ends, records = await _write_back(settings, db, producer)
            await _retag(db, previous, log_id, ends)
        republished = await _republish_written_ahead(settings, db, producer) if settings.archive else 0
        if ends or republished:
            await _nobody_online(settings, db, producer, log_id)
        mark = await write_mark(producer, log_id, previous if previous is not None and ends else None)
    finally:
        await producer.stop()
    winner = await read_mark(settings.kafka_bootstrap or "")
    if winner is None or winner.log_id != mark.log_id:
        raise RefillFailed("another process marked this log while it was being refilled")
    async with db() as s, s.begin():
        await archive.add_incarnation(s, log_id, mark.at, mark.refilled_from, {_key(t, p): e for (t, p), e in ends.items()}, records)
    state = LogState(log_id, mark.refilled_from, ends, records, republished, time.monotonic() - started)
    if ends:
        log.info("log refilled from the archive", extra={"log_id": log_id, "refilled_from": mark.refilled_from, "records": records,
                                                        "republished": republished, "seconds": round(state.seconds, 2),
                                                        "ends": {_key(t, p): e for (t, p), e in ends.items()}})
    else:
        log.info("new log marked", extra={"log_id": log_id, "republished": republished})
    return state


async def _write_back(settings: Settings, db: async_sessionmaker[AsyncSession], producer: AIOKafkaProducer) -> tuple[dict[tuple[str, int], int], int]:
    names = [t.name for t in topics.ARCHIVED]
    now = await end_offsets(settings.kafka_bootstrap or "", names)
    busy = {k: v for k, v in now.items() if v}
    if busy:
        raise RefillFailed(f"the log has records but no identity, so the archive cannot be written back in place: {busy}")
    ends: dict[tuple[str, int], int] = {}
    total = 0
    async with db() as s:
        parts = await archive.archived_partitions(s)
    for topic, partition in sorted(parts):
        if (topic, partition) not in now:
            raise RefillFailed(f"the archive holds {topic}[{partition}], which this log does not have (HUB_PARTITIONS changed?)")
        expected = 0
        while True:
            async with db() as s:
                rows = await archive.archived_from(s, topic, partition, expected, CHUNK)
            if not rows:
                break
            futures = []
            for offset, key, value in rows:
                if offset != expected:
                    raise RefillFailed(f"the archive of {topic}[{partition}] has a gap at offset {expected} (next kept: {offset})")
                futures.append((offset, await producer.send(topic, value, key=key, partition=partition)))
                expected += 1
            for offset, future in futures:
                meta = await future
                if meta.offset != offset:
                    raise RefillFailed(f"{topic}[{partition}] record {offset} came back at offset {meta.offset}")
            total += len(rows)
        ends[(topic, partition)] = expected
    return ends, total


async def _retag(db: async_sessionmaker[AsyncSession], previous: str | None, log_id: str, ends: dict[tuple[str, int], int]) -> None:
    """Positions kept for the refilled log are positions in this one (no further than what
    was refilled: past it the old log had records the archive never got)."""
    if previous is None:
        return
    async with db() as s, s.begin():
        await offsets.retag(s, previous, log_id, ends)


async def _republish_written_ahead(settings: Settings, db: async_sessionmaker[AsyncSession], producer: AIOKafkaProducer) -> int:
    """Inputs an edge acknowledged whose record never reached the archive (SIGKILL between
    the broker's ack and the archiver's poll): published now, after everything archived."""
    ahead = DatabaseWriteAhead.beside(settings.database_url, db)
    try:
        pending = await ahead.pending()
        async with db() as s:
            archived = await archive.archived_ids(s, [row.event_id for row in pending])
        await ahead.forget(sorted(archived))
        pending = [row for row in pending if row.event_id not in archived]
    finally:
        await ahead.close()
    futures = [await producer.send(row.topic, row.value, key=row.key) for row in pending]
    for future in futures:
        await future
    if pending:
        log.info("inputs written ahead and never archived published again", extra={"count": len(pending)})
    return len(pending)


async def _nobody_online(settings: Settings, db: async_sessionmaker[AsyncSession], producer: AIOKafkaProducer, log_id: str) -> None:
    """Routing's queues come back from the log with the agents who were online when it
    stopped; after a restart only the sockets that come back are."""
    async with db() as s:
        users = await lookups.users(s)
    futures: list[Any] = []
    for user in users:
        for queue in settings.agent_queues(user.queues):
            event = ev.AgentAvailabilityChanged(id=ev.derived_id("restart", log_id, user.username, queue), agent=user.username,
                                                queue=queue, online=False, capacity=user.capacity)
            futures.append(await producer.send(topics.ROUTING.name, event.to_json(), key=queue.encode()))
    for future in futures:
        await future
