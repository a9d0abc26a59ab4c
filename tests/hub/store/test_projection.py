"""The read model on SQLite and PostgreSQL: migrations, the projection and its queries."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub import events as ev
from hub.domain.identity import contact_id_for
from hub.store import db, projection, queries
from hub.store.models import Base, Contact, Conversation, Identity, Message
from tests.support import POSTGRES_URL, reset_postgres

T0 = datetime(2025, 3, 1, 9, 0, 0, 250000, tzinfo=timezone.utc)


@dataclasses.dataclass
class Store:
    kind: str
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def apply(self, events: Sequence[ev.Event]) -> list[dict[str, Any]]:
        async with self.sessions() as s, s.begin():
            return await projection.apply(s, events)


def _url(kind: str, tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/t.db" if kind == "sqlite" else POSTGRES_URL


async def _migrated(kind: str, tmp_path: Path) -> str:
    url = _url(kind, tmp_path)
    if kind == "postgres":
        await reset_postgres(url)
    await db.migrate(url)
    return url


# On SQLite a unit test; on the shared PostgreSQL database an integration one.
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    url = await _migrated(request.param, tmp_path)
    engine = db.make_engine(url)
    try:
        yield Store(request.param, url, engine, db.sessionmaker(engine))
    finally:
        await engine.dispose()


# --- helpers ----------------------------------------------------------------------------

CONTACT = contact_id_for("sms", "+989121234567")


def opened(conv: str, at: datetime = T0, contact: str = CONTACT, channel: str = "sms", address: str = "+989121234567", **kw: Any) -> ev.ConversationOpened:
    return ev.ConversationOpened(
        id=ev.derived_id("opened", conv), at=at, contact_id=contact, conversation_id=conv, channel=channel, address=address, **kw
    )


def received(conv: str, mid: str, at: datetime, text: str = "hi", contact: str = CONTACT, channel: str = "sms", address: str = "+989121234567", name: str = "Maryam") -> ev.MessageReceived:
    return ev.MessageReceived(
        id=mid, at=at, contact_id=contact, conversation_id=conv, channel=channel, address=address, name=name, text=text, provider_id=f"p-{mid}"
    )


def reply(conv: str, mid: str, at: datetime, text: str = "hello", contact: str = CONTACT) -> ev.ReplyRequested:
    return ev.ReplyRequested(id=mid, at=at, contact_id=contact, conversation_id=conv, channel="sms", address="+989121234567", text=text, author="alice")


def delivered(conv: str, mid: str, status: str, at: datetime, provider_id: str = "") -> ev.MessageDelivered:
    return ev.MessageDelivered(
        id=ev.derived_id("dlr", mid, status, at.isoformat()), at=at, contact_id=CONTACT, conversation_id=conv, message_id=mid, status=status, provider_id=provider_id
    )


def note(conv: str, mid: str, at: datetime, text: str = "internal", contact: str = CONTACT) -> ev.NoteAdded:
    return ev.NoteAdded(id=mid, at=at, contact_id=contact, conversation_id=conv, text=text, author="alice")


def _norm(value: Any) -> Any:
    return db.as_utc(value) if isinstance(value, datetime) else value


async def snapshot(store: Store) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    async with store.sessions() as s:
        for model in (Contact, Identity, Conversation, Message):
            cols = [c.key for c in model.__table__.columns]
            pk = [c.key for c in model.__table__.primary_key.columns]
            rows = (await s.scalars(select(model).order_by(*[getattr(model, k) for k in pk]))).all()
            out[model.__tablename__] = [{c: _norm(getattr(r, c)) for c in cols} for r in rows]
    return out


async def count(store: Store, model: Any) -> int:
    async with store.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


async def conversation(store: Store, conv: str) -> Conversation:
    async with store.sessions() as s:
        row = await s.get(Conversation, conv)
    assert row is not None
    return row


async def message(store: Store, mid: str) -> Message:
    async with store.sessions() as s:
        row = await s.get(Message, mid)
    assert row is not None
    return row


# --- migrations -------------------------------------------------------------------------


async def _schema(url: str) -> dict[str, set[str]]:
    engine = db.make_engine(url)
    try:
        async with engine.connect() as conn:
            def read(sync_conn: Any) -> dict[str, set[str]]:
                insp = inspect(sync_conn)
                return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}

            return await conn.run_sync(read)
    finally:
        await engine.dispose()


async def test_migration_creates_every_model_table(store: Store) -> None:
    schema = await _schema(store.url)
    expected = {t.name: {c.name for c in t.columns} for t in Base.metadata.sorted_tables}
    assert set(schema) - {"alembic_version"} == set(expected)
    for table, columns in expected.items():
        assert schema[table] == columns, table


@pytest.mark.integration  # PostgreSQL
async def test_migration_creates_the_same_tables_on_sqlite_and_postgres(tmp_path: Path) -> None:
    lite = await _schema(await _migrated("sqlite", tmp_path))
    pg = await _schema(await _migrated("postgres", tmp_path))
    assert "conversations" in lite and "messages" in lite
    assert lite == pg


async def test_migrate_twice_is_harmless(store: Store) -> None:
    await store.apply([opened("c1")])
    await db.migrate(store.url)
    assert await count(store, Conversation) == 1


# --- projection -------------------------------------------------------------------------


def _delivery_batch() -> list[ev.Event]:
    return [
        opened("c1", T0, name="Maryam", subject="order 42"),
        received("c1", "m-in", T0 + timedelta(seconds=1), "سلام"),
        reply("c1", "m-out", T0 + timedelta(seconds=2), "درود"),
        delivered("c1", "m-out", "sent", T0 + timedelta(seconds=3), provider_id="SM-out"),
        delivered("c1", "m-out", "delivered", T0 + timedelta(seconds=4)),
        delivered("c1", "m-out", "sent", T0 + timedelta(seconds=5)),  # late callback
    ]


async def test_conversation_with_delivery_updates(store: Store) -> None:
    await store.apply(_delivery_batch())
    assert await count(store, Conversation) == 1
    assert await count(store, Message) == 2
    assert await count(store, Contact) == 1
    assert await count(store, Identity) == 1
    conv = await conversation(store, "c1")
    assert conv.contact_id == CONTACT and conv.status == "open" and conv.channel == "sms"
    assert conv.subject == "order 42"
    assert db.as_utc(conv.last_message_at) == T0 + timedelta(seconds=2)
    assert conv.waiting_since is None  # answered
    incoming = await message(store, "m-in")
    assert (incoming.direction, incoming.text, incoming.delivery, incoming.author) == ("in", "سلام", None, "Maryam")
    out = await message(store, "m-out")
    assert (out.direction, out.text, out.author) == ("out", "درود", "alice")
    assert out.delivery == "delivered"
    assert out.provider_id == "SM-out"


async def test_late_sent_in_a_later_batch_does_not_undo_delivered(store: Store) -> None:
    batch = _delivery_batch()
    await store.apply(batch[:5])
    assert (await message(store, "m-out")).delivery == "delivered"
    frames = await store.apply([delivered("c1", "m-out", "sent", T0 + timedelta(seconds=9))])
    assert (await message(store, "m-out")).delivery == "delivered"
    assert not [f for f in frames if f["type"] == "message.updated"]


async def test_delivery_moves_forward_step_by_step(store: Store) -> None:
    await store.apply(_delivery_batch()[:3])
    assert (await message(store, "m-out")).delivery == "queued"
    frames = await store.apply([delivered("c1", "m-out", "sent", T0 + timedelta(seconds=3))])
    assert (await message(store, "m-out")).delivery == "sent"
    updated = [f for f in frames if f["type"] == "message.updated"]
    assert len(updated) == 1 and updated[0]["message"]["delivery"] == "sent"
    await store.apply([ev.DeliveryFailed(contact_id=CONTACT, conversation_id="c1", message_id="m-out", error="carrier said no")])
    m = await message(store, "m-out")
    assert (m.delivery, m.error) == ("failed", "carrier said no")


async def test_applying_the_same_batch_twice_changes_nothing(store: Store) -> None:
    batch = _delivery_batch() + [note("c1", "n1", T0 + timedelta(seconds=6))]
    first_frames = await store.apply(batch)
    before = await snapshot(store)
    assert len(before["messages"]) == 3
    second_frames = await store.apply(batch)
    assert await snapshot(store) == before
    assert len([f for f in first_frames if f["type"] == "message.created"]) == 3
    assert [f for f in second_frames if f["type"] == "message.created"] == []


async def test_replayed_message_does_not_move_activity_back(store: Store) -> None:
    early = received("c1", "m1", T0 + timedelta(seconds=1))
    await store.apply([opened("c1"), early, received("c1", "m2", T0 + timedelta(seconds=10))])
    await store.apply([early])
    assert db.as_utc((await conversation(store, "c1")).last_message_at) == T0 + timedelta(seconds=10)
    assert await count(store, Message) == 2


async def test_new_message_sets_waiting_since_once_and_reply_clears_it(store: Store) -> None:
    await store.apply([opened("c1", T0), reply("c1", "r1", T0 + timedelta(seconds=1))])
    assert (await conversation(store, "c1")).waiting_since is None
    await store.apply([received("c1", "m1", T0 + timedelta(seconds=5)), received("c1", "m2", T0 + timedelta(seconds=8))])
    conv = await conversation(store, "c1")
    assert db.as_utc(conv.waiting_since) == T0 + timedelta(seconds=5)
    assert db.as_utc(conv.last_message_at) == T0 + timedelta(seconds=8)


async def test_contact_name_and_identities(store: Store) -> None:
    await store.apply([opened("c1"), received("c1", "m1", T0, name="")])
    async with store.sessions() as s:
        assert (await s.get(Contact, CONTACT)).name == ""  # type: ignore[union-attr]
    await store.apply([received("c1", "m2", T0 + timedelta(seconds=1), name="Maryam")])
    async with store.sessions() as s:
        assert (await s.get(Contact, CONTACT)).name == "Maryam"  # type: ignore[union-attr]
        ident = await s.get(Identity, ("sms", "+989121234567"))
        assert ident is not None and ident.contact_id == CONTACT


async def test_status_queue_and_assignee_follow_the_events(store: Store) -> None:
    await store.apply([opened("c1"), received("c1", "m1", T0)])
    conv = await conversation(store, "c1")
    assert (conv.status, conv.queue, conv.assignee) == ("open", None, None)

    await store.apply([ev.ConversationAssigned(contact_id=CONTACT, conversation_id="c1", queue="support", agent="alice")])
    conv = await conversation(store, "c1")
    assert (conv.status, conv.queue, conv.assignee) == ("open", "support", "alice")

    await store.apply([ev.ConversationTransferred(contact_id=CONTACT, conversation_id="c1", from_queue="support", queue="billing", by="alice")])
    conv = await conversation(store, "c1")
    assert (conv.queue, conv.assignee) == ("billing", None)

    await store.apply([ev.ConversationAssigned(contact_id=CONTACT, conversation_id="c1", queue="billing", agent="bob")])
    await store.apply([ev.ConversationMarkedPending(contact_id=CONTACT, conversation_id="c1", by="bob")])
    conv = await conversation(store, "c1")
    assert (conv.status, conv.queue, conv.assignee) == ("pending", "billing", "bob")

    resolved_at = T0 + timedelta(minutes=5)
    await store.apply([ev.ConversationResolved(at=resolved_at, contact_id=CONTACT, conversation_id="c1", queue="billing", agent="bob", by="bob")])
    conv = await conversation(store, "c1")
    assert conv.status == "resolved"
    assert db.as_utc(conv.resolved_at) == resolved_at
    assert conv.waiting_since is None

    await store.apply([ev.ConversationReopened(contact_id=CONTACT, conversation_id="c1", queue="billing", by="maria")])
    conv = await conversation(store, "c1")
    assert conv.status == "open" and conv.resolved_at is None


async def test_events_for_an_unknown_conversation_write_nothing(store: Store) -> None:
    await store.apply([
        ev.ConversationResolved(contact_id=CONTACT, conversation_id="ghost"),
        ev.ConversationAssigned(contact_id=CONTACT, conversation_id="ghost", queue="support", agent="alice"),
        delivered("ghost", "no-such-message", "delivered", T0),
    ])
    assert await count(store, Conversation) == 0
    assert await count(store, Message) == 0


async def test_event_time_with_an_offset_is_kept_as_the_same_instant(store: Store, request: pytest.FixtureRequest) -> None:
    tehran = timezone(timedelta(hours=3, minutes=30))
    at = datetime(2025, 3, 1, 12, 0, tzinfo=tehran)
    await store.apply([opened("c1", at), received("c1", "m1", at)])
    assert db.as_utc((await conversation(store, "c1")).last_message_at) == at
    assert db.as_utc((await message(store, "m1")).at) == at


# --- queries ----------------------------------------------------------------------------


async def _many(store: Store, n: int) -> list[str]:
    """n conversations; activity in groups of three sharing one timestamp, so ties occur.
    Returns their ids newest first (ties: larger id first)."""
    events: list[ev.Event] = []
    keyed = []
    for i in range(n):
        conv = ev.derived_id("conv", str(i))
        at = T0 + timedelta(seconds=i // 3)
        events += [opened(conv, at, contact=f"contact-{i}", address=f"+98{i}"), received(conv, f"m{i}", at, contact=f"contact-{i}", address=f"+98{i}")]
        keyed.append((at, conv))
    await store.apply(events)
    return [c for _, c in sorted(keyed, reverse=True)]


async def test_list_pages_through_120_conversations(store: Store) -> None:
    expected = await _many(store, 120)
    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    async with store.sessions() as s:
        while True:
            page = await queries.list_conversations(s, cursor=cursor, limit=50)
            sizes.append(len(page["conversations"]))
            seen += [c["id"] for c in page["conversations"]]
            cursor = page["next"]
            if cursor is None:
                break
            assert len(sizes) < 10, "pagination does not end"
    assert sizes == [50, 50, 20]
    assert len(set(seen)) == 120
    assert seen == expected


async def test_list_default_page_is_50_and_exact_page_has_no_next(store: Store) -> None:
    await _many(store, 50)
    async with store.sessions() as s:
        page = await queries.list_conversations(s)
    assert len(page["conversations"]) == 50 and page["next"] is None


async def test_list_orders_by_newest_activity(store: Store) -> None:
    await store.apply([
        opened("old", T0), received("old", "m1", T0),
        opened("mid", T0 + timedelta(seconds=1), contact="k2", address="+2"), received("mid", "m2", T0 + timedelta(seconds=1), contact="k2", address="+2"),
        opened("new", T0 + timedelta(seconds=2), contact="k3", address="+3"), received("new", "m3", T0 + timedelta(seconds=2), contact="k3", address="+3"),
    ])
    async with store.sessions() as s:
        assert [c["id"] for c in (await queries.list_conversations(s))["conversations"]] == ["new", "mid", "old"]
    await store.apply([received("old", "m4", T0 + timedelta(seconds=3))])
    async with store.sessions() as s:
        page = await queries.list_conversations(s)
    assert [c["id"] for c in page["conversations"]] == ["old", "new", "mid"]
    first = page["conversations"][0]
    assert first["contact"]["id"] == CONTACT
    assert first["contact"]["identities"] == [{"channel": "sms", "address": "+989121234567"}]
    assert datetime.fromisoformat(first["last_message_at"]) == T0 + timedelta(seconds=3)


async def test_list_filters(store: Store) -> None:
    def conv(cid: str, i: int, channel: str) -> list[ev.Event]:
        at = T0 + timedelta(seconds=i)
        return [opened(cid, at, contact=f"k{i}", channel=channel, address=f"a{i}"), received(cid, f"m{i}", at, contact=f"k{i}", channel=channel, address=f"a{i}")]

    await store.apply(
        conv("sms-alice", 1, "sms") + conv("email-alice", 2, "email") + conv("sms-bob", 3, "sms") + conv("web-none", 4, "web")
        + [
            ev.ConversationAssigned(contact_id="k1", conversation_id="sms-alice", queue="support", agent="alice"),
            ev.ConversationAssigned(contact_id="k2", conversation_id="email-alice", queue="billing", agent="alice"),
            ev.ConversationAssigned(contact_id="k3", conversation_id="sms-bob", queue="support", agent="bob"),
            ev.ConversationResolved(contact_id="k3", conversation_id="sms-bob"),
            ev.ConversationMarkedPending(contact_id="k2", conversation_id="email-alice"),
        ]
    )

    async def ids(**filters: Any) -> list[str]:
        async with store.sessions() as s:
            return [c["id"] for c in (await queries.list_conversations(s, **filters))["conversations"]]

    assert await ids() == ["web-none", "sms-bob", "email-alice", "sms-alice"]
    assert await ids(status="open") == ["web-none", "sms-alice"]
    assert await ids(status="resolved") == ["sms-bob"]
    assert await ids(status="pending") == ["email-alice"]
    assert await ids(channel="sms") == ["sms-bob", "sms-alice"]
    assert await ids(assignee="alice") == ["email-alice", "sms-alice"]
    assert await ids(assignee="bob") == ["sms-bob"]
    assert await ids(queue="support") == ["sms-bob", "sms-alice"]
    assert await ids(channel="sms", assignee="alice") == ["sms-alice"]
    assert await ids(channel="telegram") == []


async def test_filtered_list_paginates(store: Store) -> None:
    events: list[ev.Event] = []
    for i in range(9):
        channel = "sms" if i % 3 else "email"
        at = T0 + timedelta(seconds=i)
        events += [opened(f"c{i}", at, contact=f"k{i}", channel=channel, address=f"a{i}"), received(f"c{i}", f"m{i}", at, contact=f"k{i}", channel=channel, address=f"a{i}")]
    await store.apply(events)
    got: list[str] = []
    cursor = None
    async with store.sessions() as s:
        for _ in range(5):
            page = await queries.list_conversations(s, channel="sms", cursor=cursor, limit=4)
            got += [c["id"] for c in page["conversations"]]
            cursor = page["next"]
            if not cursor:
                break
    assert got == ["c8", "c7", "c5", "c4", "c2", "c1"]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "!!!", "aGVsbG8=", "bm90LWEtZGF0ZXxjMQ==", "////"])
async def test_bad_cursor_raises(store: Store, cursor: str) -> None:
    async with store.sessions() as s:
        with pytest.raises(queries.BadCursor):
            await queries.list_conversations(s, cursor=cursor)


async def test_get_conversation_returns_messages_in_order(store: Store) -> None:
    await store.apply([
        opened("c1", T0, name="Maryam"),
        received("c1", "m3", T0 + timedelta(seconds=3), "third"),
        received("c1", "m1", T0 + timedelta(seconds=1), "first"),
        note("c1", "n2", T0 + timedelta(seconds=2), "second (note)"),
        reply("c1", "r4", T0 + timedelta(seconds=4), "fourth"),
    ])
    async with store.sessions() as s:
        view = await queries.get_conversation(s, "c1")
        missing = await queries.get_conversation(s, "nope")
    assert missing is None
    assert view is not None and view["id"] == "c1"
    assert [m["text"] for m in view["messages"]] == ["first", "second (note)", "third", "fourth"]
    assert [m["direction"] for m in view["messages"]] == ["in", "note", "in", "out"]
    assert datetime.fromisoformat(view["messages"][0]["at"]) == T0 + timedelta(seconds=1)
    assert view["contact"]["name"] == "Maryam"


async def test_chat_history_excludes_notes(store: Store) -> None:
    other = "someone-else"
    await store.apply([
        opened("c1", T0),
        received("c1", "m1", T0 + timedelta(seconds=1), "q1"),
        note("c1", "n1", T0 + timedelta(seconds=2), "secret note"),
        reply("c1", "r1", T0 + timedelta(seconds=3), "a1"),
        ev.ConversationResolved(contact_id=CONTACT, conversation_id="c1"),
        opened("c2", T0 + timedelta(seconds=4)),
        received("c2", "m2", T0 + timedelta(seconds=5), "q2"),
        note("c2", "n2", T0 + timedelta(seconds=6), "another note"),
        opened("x1", T0, contact=other, address="+1"),
        received("x1", "mx", T0 + timedelta(seconds=2), "not yours", contact=other, address="+1"),
    ])
    async with store.sessions() as s:
        history = await queries.chat_history(s, CONTACT)
        newest_two = await queries.chat_history(s, CONTACT, limit=2)
    assert [m.text for m in history] == ["q1", "a1", "q2"]
    assert all(m.direction != "note" for m in history)
    assert [m.text for m in newest_two] == ["a1", "q2"]


# --- batching ---------------------------------------------------------------------------


async def _one_by_one_vs_batch(store: Store, events: list[ev.Event], tmp_path: Path) -> tuple[dict, dict]:
    """Rows after applying `events` one event per transaction, then as one batch (on a
    second, fresh database of the same kind)."""
    for e in events:
        await store.apply([e])
    singly = await snapshot(store)
    if store.kind == "postgres":
        await reset_postgres(store.url)
        url = store.url
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/batch.db"
    await db.migrate(url)
    engine = db.make_engine(url)
    try:
        other = Store(store.kind, url, engine, db.sessionmaker(engine))
        await other.apply(events)
        batched = await snapshot(other)
    finally:
        await engine.dispose()
    return singly, batched


async def test_batch_of_a_plain_exchange_equals_one_event_at_a_time(store: Store, tmp_path: Path) -> None:
    events = _delivery_batch() + [
        note("c1", "n1", T0 + timedelta(seconds=6)),
        received("c1", "m2", T0 + timedelta(seconds=7), "still there?"),
        ev.ConversationAssigned(contact_id=CONTACT, conversation_id="c1", queue="support", agent="alice"),
        ev.ConversationMarkedPending(contact_id=CONTACT, conversation_id="c1"),
    ]
    singly, batched = await _one_by_one_vs_batch(store, events, tmp_path)
    assert batched["conversations"] == singly["conversations"]
    assert batched["messages"] == singly["messages"]


async def test_message_after_reopen_in_the_same_batch_is_waiting(store: Store, tmp_path: Path) -> None:
    events: list[ev.Event] = [
        opened("c1", T0),
        received("c1", "m1", T0),
        ev.ConversationResolved(at=T0 + timedelta(seconds=1), contact_id=CONTACT, conversation_id="c1"),
        ev.ConversationReopened(at=T0 + timedelta(seconds=2), contact_id=CONTACT, conversation_id="c1"),
        received("c1", "m2", T0 + timedelta(seconds=3), "one more thing"),
    ]
    singly, batched = await _one_by_one_vs_batch(store, events, tmp_path)
    assert singly["conversations"][0]["waiting_since"] == T0 + timedelta(seconds=3)
    assert batched["conversations"] == singly["conversations"]


async def test_contact_created_at_is_first_seen_whatever_the_batching(store: Store, tmp_path: Path) -> None:
    events: list[ev.Event] = [
        opened("c1", T0),
        received("c1", "m1", T0),
        received("c1", "m2", T0 + timedelta(minutes=5)),
    ]
    singly, batched = await _one_by_one_vs_batch(store, events, tmp_path)
    assert singly["contacts"][0]["created_at"] == T0
    assert batched["contacts"] == singly["contacts"]


async def test_large_batch_writes_every_message_once(store: Store) -> None:
    events: list[ev.Event] = [opened("c1", T0)]
    events += [received("c1", f"m{i:04d}", T0 + timedelta(seconds=i), f"#{i}") for i in range(1, 3001)]
    frames = await store.apply(events)
    assert await count(store, Message) == 3000
    assert len([f for f in frames if f["type"] == "message.created"]) == 3000
    assert db.as_utc((await conversation(store, "c1")).last_message_at) == T0 + timedelta(seconds=3000)
    frames = await store.apply(events)
    assert await count(store, Message) == 3000
    assert [f for f in frames if f["type"] == "message.created"] == []


async def test_an_edit_replaces_the_text_keeps_earlier_versions_and_applies_once(store: Store) -> None:
    first = received("c-edit", "m-edit", T0, text="my parcel is late")
    edit = ev.MessageEdited(id="e-1", at=T0 + timedelta(minutes=5), contact_id=CONTACT, conversation_id="c-edit", message_id="m-edit", text="my parcel is very late", channel="telegram")
    await store.apply([opened("c-edit"), first, edit])
    await store.apply([edit])  # redelivered
    m = await message(store, "m-edit")
    assert m.text == "my parcel is very late"
    assert [(x["text"], x["at"]) for x in m.meta["edits"]] == [("my parcel is late", T0.isoformat())]
    assert m.meta["edited_at"] == (T0 + timedelta(minutes=5)).isoformat()
    assert await store.apply([ev.MessageEdited(id="e-2", at=T0, contact_id=CONTACT, conversation_id="", message_id="never-seen", text="x")]) == []


async def test_a_start_payload_is_kept_on_the_conversation_context(store: Store) -> None:
    start = ev.MessageReceived(id="m-start", at=T0, contact_id=CONTACT, conversation_id="c-ctx", channel="telegram", address="42",
                               text="/start order-1234", meta={"start_payload": "order-1234", "update_id": 1})
    await store.apply([opened("c-ctx", channel="telegram", address="42"), start, received("c-ctx", "m-plain", T0 + timedelta(seconds=1))])
    assert (await conversation(store, "c-ctx")).context == {"start_payload": "order-1234"}


async def test_the_live_frame_carries_the_same_message_as_the_api(store: Store) -> None:
    """One shape per wire format: a message.created frame's Message is the one the API reads
    back (it lacked edited_at, edits and automatic before)."""
    mail = dataclasses.replace(received("c1", "m1", T0, "thanks\n> earlier mail", channel="email", address="sara@example.com"),
                               meta={"display_text": "thanks", "automatic": "auto-replied"})
    frames = await store.apply([opened("c1", channel="email", address="sara@example.com"), mail])
    (created,) = [f["message"] for f in frames if f["type"] == "message.created"]
    async with store.sessions() as s:
        found = await queries.get_conversation(s, "c1")
    assert found is not None
    assert created == found["messages"][0]
    assert (created["display_text"], created["automatic"], created["edits"]) == ("thanks", "auto-replied", [])
