"""Dispatch keeps opted-out addresses in the database (it runs as its own consumer group,
without a faust table): kept before its offsets move on, read back on a rebalance, so a
worker that takes the partition over refuses the same replies."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from hub import events as ev
from hub import topics
from hub.config import Settings
from hub.store.db import make_engine, migrate, sessionmaker
from processors.agents import process_record
from processors.dispatch import DispatchHandler
from processors.pipeline import by_name
from tests.support.worker import InProcessWorker, Record, RecordingSender

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
SPEC = by_name("dispatch")


def record(offset: int, event: ev.Event) -> Record:
    return Record(topics.CONVERSATIONS.name, 0, offset, b"k", event.to_json())


def stop(address: str) -> ev.ContactOptedOut:
    return ev.ContactOptedOut(id=f"stop-{address}", at=T0, contact_id="k", conversation_id="c", channel="sms", address=address, keyword="STOP")


def reply(address: str) -> ev.ReplyRequested:
    return ev.ReplyRequested(id=f"r-{address}", at=T0, contact_id="k", conversation_id="c", channel="sms", address=address, text="hi", author="alice")


async def test_an_opt_out_kept_by_one_worker_is_refused_by_the_next(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/hub.db"
    await migrate(url)
    engine = make_engine(url)
    try:
        db = sessionmaker(engine)
        first = DispatchHandler(Settings(), sender=RecordingSender(), db=db)
        published: list[ev.Event] = []

        async def publish(ps: object) -> None:
            published.extend(p.event for p in ps)  # type: ignore[attr-defined]

        for i, e in enumerate([stop("+98912"), stop("+98913"), ev.ContactOptedIn(id="start", at=T0, contact_id="k", conversation_id="c",
                                                                                   channel="sms", address="+98913", keyword="START")]):
            await process_record(SPEC, first, record(i, e), first.table, publish, persist=first.persist)

        # another worker (a fresh handler) is assigned the partition and reads the opt-outs back
        sender = RecordingSender()
        second = DispatchHandler(Settings(), sender=sender, db=db)
        await second.load()
        assert set(second.table) == {"sms:+98912"}
        for i, e in enumerate([reply("+98912"), reply("+98913")], start=10):
            await process_record(SPEC, second, record(i, e), second.table, publish, persist=second.persist)
        assert [r.address for r in sender.sent] == ["+98913"]
        refused = [e for e in published if isinstance(e, ev.DeliveryFailed)]
        assert len(refused) == 1 and "'STOP'" in refused[0].error and refused[0].message_id == "r-+98912"
    finally:
        await engine.dispose()


async def test_without_a_database_the_opt_outs_live_in_the_handler_table() -> None:
    w = InProcessWorker(Settings(), only=["dispatch"])
    await w.send(topics.CONVERSATIONS, "k", stop("+98912"), reply("+98912"))
    assert w.table("dispatch") == {"sms:+98912": (T0.isoformat(), "STOP")}
    assert w.sender.sent == [] and w.types() == ["ContactOptedOut", "ReplyRequested", "DeliveryFailed"]
