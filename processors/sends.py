"""Sending something to a person exactly once, as far as a provider call allows.

The intent is committed to the database before the provider call and the result after it.
A redelivered request whose result is recorded is not sent again; one whose intent is
recorded but not its result (the worker died inside the provider call) is sent again and
marked as a repeat. Nothing else can send twice.

Why the database and not a faust table: faust buffers changelog writes, and a worker killed
a moment after a send comes back with a table that never saw it; the record then has to
be durable before the call, which a committed row is."""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.base import Channel, OutboundReply
from channels.delivery import deliver
from hub.events import utcnow
from hub.store import sends as records


async def send_once(
    db: async_sessionmaker[AsyncSession], key: str, channel: Channel | None, reply: OutboundReply
) -> tuple[dict[str, Any], bool]:
    """(result, repeated) for the send named `key`."""
    async with db() as s, s.begin():
        record = await records.send_record(s, key)
        if record is not None and record.state == "done" and record.result is not None:
            return dict(record.result), record.attempts > 1
        repeated = record is not None
        records.count_attempt(s, key, record, utcnow())
    r = await deliver(channel, reply)
    result = {"ok": r.ok, "status": r.status, "provider_id": r.provider_id, "error": r.error, "retryable": r.retryable}
    async with db() as s, s.begin():
        await records.finish(s, key, result, utcnow())
    return result, repeated


class Sender:
    """`send_once` with the worker's database and its channel adapters, for the handlers
    that reach people (dispatch, notifier); tests give them a recording one instead."""

    def __init__(self, db: async_sessionmaker[AsyncSession], channel_for: Callable[[str], Channel | None]) -> None:
        self.db = db
        self.channel_for = channel_for

    async def send_once(self, key: str, reply: OutboundReply) -> tuple[dict[str, Any], bool]:
        return await send_once(self.db, key, self.channel_for(reply.channel), reply)
