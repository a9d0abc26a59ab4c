"""The read model on SQLite and PostgreSQL: migrations, idempotent projection, pagination."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import events as ev
from hub.store import projection
from hub.store.db import make_engine, migrate, sessionmaker
from hub.store.models import Conversation, Message
from hub.store.queries import BadCursor, chat_history, get_conversation, list_conversations
from tests.support import POSTGRES_URL, reset_postgres

T0 = datetime(2026, 3, 21, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{tmp_path}/t.db" if request.param == "sqlite" else POSTGRES_URL
    if request.param == "postgres":
        await reset_postgres(url)
    await migrate(url)
    engine = make_engine(url)
    try:
        yield sessionmaker(engine)
    finally:
        await engine.dispose()


def opened(n: int, at: datetime, channel: str = "web") -> list[ev.Event]:
    contact, conv = f"contact-{n}", f"conv-{n}"
    return [
        ev.ConversationOpened(id=f"o-{n}", at=at, contact_id=contact, conversation_id=conv, channel=channel, address=f"addr-{n}", name=f"Name {n}"),
        ev.MessageReceived(id=f"m-{n}", at=at, contact_id=contact, conversation_id=conv, channel=channel, address=f"addr-{n}", name=f"Name {n}", text=f"text {n}"),
    ]


async def apply(db: async_sessionmaker[AsyncSession], events: list[ev.Event]) -> list[dict]:
    async with db() as s, s.begin():
        return await projection.apply(s, events)


async def test_migrations_create_the_read_model(db: async_sessionmaker[AsyncSession]) -> None:
    async with db() as s:
        names = await s.run_sync(lambda sync: set(inspect(sync.bind).get_table_names()))
    assert {"contacts", "identities", "conversations", "messages", "users", "api_keys", "deadletters", "workers", "projector_offsets"} <= names


async def test_projection_is_idempotent_and_delivery_only_moves_forward(db: async_sessionmaker[AsyncSession]) -> None:
    c = dict(contact_id="contact-1", conversation_id="conv-1")
    batch = [
        *opened(1, T0),
        ev.ReplyRequested(id="r-1", at=T0 + timedelta(minutes=2), channel="web", address="addr-1", text="answer", author="alice", **c),
        ev.MessageDelivered(id="d-1", message_id="r-1", status="sent", **c),
        ev.MessageDelivered(id="d-2", message_id="r-1", status="delivered", **c),
        ev.MessageDelivered(id="d-3", message_id="r-1", status="sent", **c),  # late callback
        ev.NoteAdded(id="n-1", at=T0 + timedelta(minutes=3), text="vip", author="alice", **c),
    ]
    frames = await apply(db, batch)
    assert sum(f["type"] == "message.created" for f in frames) == 3
    replay = await apply(db, batch)
    assert not [f for f in replay if f["type"] == "message.created"]
    async with db() as s:
        view = await get_conversation(s, "conv-1")
        assert await s.scalar(select(func.count()).select_from(Message)) == 3
        assert await s.scalar(select(func.count()).select_from(Conversation)) == 1
    assert [(m["direction"], m["text"]) for m in view["messages"]] == [("in", "text 1"), ("out", "answer"), ("note", "vip")]
    assert view["messages"][1]["delivery"] == "delivered"
    assert view["waiting_since"] is None  # the reply ended the wait
    assert view["contact"]["identities"] == [{"channel": "web", "address": "addr-1"}]


async def test_state_changes(db: async_sessionmaker[AsyncSession]) -> None:
    c = dict(contact_id="contact-1", conversation_id="conv-1")
    await apply(db, opened(1, T0))
    steps = [
        (ev.ConversationAssigned(queue="support", agent="alice", **c), {"queue": "support", "assignee": "alice", "status": "open"}),
        (ev.ConversationTransferred(from_queue="support", queue="sales", by="alice", **c), {"queue": "sales", "assignee": None}),
        (ev.ConversationMarkedPending(by="alice", **c), {"status": "pending"}),
        (ev.ConversationResolved(queue="sales", by="alice", **c), {"status": "resolved"}),
        (ev.ConversationReopened(queue="sales", by="alice", **c), {"status": "open", "resolved_at": None}),
    ]
    for event, expected in steps:
        await apply(db, [event])
        async with db() as s:
            view = await get_conversation(s, "conv-1")
        assert {k: view[k] for k in expected} == expected, event.type


async def test_failed_delivery_keeps_the_reason(db: async_sessionmaker[AsyncSession]) -> None:
    c = dict(contact_id="contact-1", conversation_id="conv-1")
    await apply(db, [*opened(1, T0), ev.ReplyRequested(id="r-1", channel="api", address="a", text="x", author="alice", **c)])
    await apply(db, [ev.DeliveryFailed(message_id="r-1", error="no transport", **c)])
    async with db() as s:
        m = (await get_conversation(s, "conv-1"))["messages"][1]
    assert (m["delivery"], m["error"]) == ("failed", "no transport")


async def test_unified_queue_pages_and_filters(db: async_sessionmaker[AsyncSession]) -> None:
    events: list[ev.Event] = []
    for n in range(120):
        events += opened(n, T0 + timedelta(seconds=n % 40), "web" if n % 3 else "api")  # ties on time too
    await apply(db, events)
    seen: list[str] = []
    cursor = None
    sizes = []
    async with db() as s:
        while True:
            page = await list_conversations(s, cursor=cursor)
            sizes.append(len(page["conversations"]))
            seen += [c["id"] for c in page["conversations"]]
            cursor = page["next"]
            if not cursor:
                break
        assert sizes == [50, 50, 20]
        assert len(seen) == len(set(seen)) == 120
        times = [(await s.get(Conversation, cid)).last_message_at for cid in seen]
        assert times == sorted(times, reverse=True)
        api = await list_conversations(s, channel="api")
        assert {c["channel"] for c in api["conversations"]} == {"api"} and len(api["conversations"]) == 40
        assert (await list_conversations(s, status="resolved"))["conversations"] == []
        with pytest.raises(BadCursor):
            await list_conversations(s, cursor="garbage!")


async def test_chat_history_leaves_out_notes(db: async_sessionmaker[AsyncSession]) -> None:
    c = dict(contact_id="contact-1", conversation_id="conv-1")
    await apply(db, [*opened(1, T0), ev.NoteAdded(id="n", at=T0 + timedelta(seconds=1), text="internal", author="a", **c),
                     ev.ReplyRequested(id="r", at=T0 + timedelta(seconds=2), channel="web", address="addr-1", text="hello", author="a", **c)])
    async with db() as s:
        assert [m.text for m in await chat_history(s, "contact-1")] == ["text 1", "hello"]
