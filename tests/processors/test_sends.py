"""send_once against a real SQLite database: the record outlives the process that wrote it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

from channels.base import Channel, OutboundReply, SendResult
from hub.config import Settings
from hub.events import utcnow
from hub.store.db import make_engine, migrate, sessionmaker
from hub.store.models import SendRecord
from processors.sends import send_once


class CountingChannel(Channel):
    name: ClassVar[str] = "count"

    def __init__(self) -> None:
        super().__init__(Settings(), bus=None)  # type: ignore[arg-type]  # sends nothing to the broker
        self.calls: list[str] = []

    async def send(self, reply: OutboundReply) -> SendResult:
        self.calls.append(reply.text)
        return SendResult(ok=True, status="sent", provider_id=f"p-{len(self.calls)}")


def reply(text: str) -> OutboundReply:
    return OutboundReply(message_id="m", conversation_id="c", contact_id="k", channel="count", address="a", text=text,
                         author="hub", at=datetime(2026, 11, 23, tzinfo=timezone.utc))


async def test_a_send_is_made_once_even_after_a_restart_and_a_crash_inside_the_call_is_marked(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/hub.db"
    await migrate(url)
    channel = CountingChannel()
    engine = make_engine(url)
    try:
        first, repeated = await send_once(sessionmaker(engine), "n-1", channel, reply("level 1"))
        assert first["ok"] and first["provider_id"] == "p-1" and repeated is False
    finally:
        await engine.dispose()

    # A new process (a new engine) asked again: the committed result is returned, nothing sent.
    engine = make_engine(url)
    db = sessionmaker(engine)
    try:
        again, repeated = await send_once(db, "n-1", channel, reply("level 1"))
        assert again == first and repeated is False and channel.calls == ["level 1"]

        # The intent is committed but no result: a worker died inside the provider call.
        async with db() as s, s.begin():
            s.add(SendRecord(id="n-2", state="started", attempts=1, started_at=utcnow()))
        result, repeated = await send_once(db, "n-2", channel, reply("level 2"))
        assert result["ok"] and repeated is True and channel.calls == ["level 1", "level 2"]
        async with db() as s:
            record = await s.get(SendRecord, "n-2")
            assert record is not None and record.state == "done" and record.attempts == 2
    finally:
        await engine.dispose()
