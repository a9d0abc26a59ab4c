"""The projector's handler on a migrated SQLite read model: a poll's records are projected in
one transaction with the offsets they reach, live frames come back as publications, a batch
seen again changes nothing, and what cannot be projected is dead-lettered while its offset
advances. The deadletter handler keeps those letters in the database."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

import pytest
from aiokafka import TopicPartition
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import config, topics
from hub import events as ev
from hub.config import Settings
from hub.store import db as store_db
from hub.store import offsets
from hub.store.models import Contact, Conversation, DeadLetter, Identity, Message, StreamOffset
from processors.agents import process_record
from processors.base import Publication
from processors.deadletter import DeadletterHandler
from processors.pipeline import by_name
from processors.projector import ProjectorHandler, Record

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
TOPIC = topics.CONVERSATIONS.name
TP0, TP1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "hub.toml"
    path.write_text("", encoding="utf-8")
    return config.load({"HUB_SECRET_KEY": "x" * 40, "HUB_CONFIG": str(path)})


@pytest.fixture(scope="module")
async def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database per module; each test gets a copy (migrating costs ~0.2 s)."""
    path = tmp_path_factory.mktemp("migrated") / "read-model.db"
    await store_db.migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
async def sessions(tmp_path: Path, migrated: Path) -> AsyncIterator[Sessions]:
    shutil.copyfile(migrated, tmp_path / "read-model.db")
    engine = store_db.make_engine(f"sqlite+aiosqlite:///{tmp_path}/read-model.db")
    try:
        yield store_db.sessionmaker(engine)
    finally:
        await engine.dispose()


def opened(conv: str, contact: str, address: str) -> ev.ConversationOpened:
    return ev.ConversationOpened(id=f"opened-{conv}", at=T0, contact_id=contact, conversation_id=conv, channel="sms", address=address)


def received(conv: str, contact: str, address: str, mid: str, minutes: int, **extra: Any) -> ev.MessageReceived:
    return ev.MessageReceived(id=mid, at=T0 + timedelta(minutes=minutes), contact_id=contact, conversation_id=conv, channel="sms",
                              address=address, text=f"message {mid}", **extra)


def replied(conv: str, contact: str, address: str, mid: str, minutes: int) -> ev.ReplyRequested:
    return ev.ReplyRequested(id=mid, at=T0 + timedelta(minutes=minutes), contact_id=contact, conversation_id=conv, channel="sms",
                             address=address, text="on its way", author="alice")


def records(partition: int, start: int, *values: ev.Event | bytes) -> list[Record]:
    return [Record(TOPIC, partition, start + i, v if isinstance(v, bytes) else v.to_json()) for i, v in enumerate(values)]


def ana(*values: ev.Event | bytes, start: int = 10) -> list[Record]:
    return records(0, start, *values)


ANA = ("conv-ana", "contact-ana", "+989121111111")
BABAK = ("conv-babak", "contact-babak", "+989122222222")


def good_batch() -> dict[TopicPartition, list[Record]]:
    return {TP0: ana(opened(*ANA), received(*ANA, "a-1", 1), replied(*ANA, "a-2", 2)),
            TP1: records(1, 0, opened(*BABAK), received(*BABAK, "b-1", 3))}


async def rows(sessions: Sessions) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions() as s:
        for model in (Contact, Identity, Conversation, Message, StreamOffset):
            cols = [c.key for c in model.__table__.columns]
            found = (await s.scalars(select(model))).all()
            out[model.__tablename__] = sorted(tuple(str(getattr(r, c)) for c in cols) for r in found)
    return out


async def messages(sessions: Sessions) -> dict[str, tuple[str, str, str | None]]:
    async with sessions() as s:
        return {m.id: (m.conversation_id, m.direction, m.delivery) for m in (await s.scalars(select(Message))).all()}


def frames(publications: Sequence[Publication]) -> list[dict[str, Any]]:
    assert all(p.topic == topics.LIVE and isinstance(p.event, ev.ReadModelUpdated) for p in publications)
    for p in publications:
        assert p.key == p.event.conversation_id  # type: ignore[attr-defined]
    return [p.event.frame for p in publications]  # type: ignore[attr-defined]


def letters(publications: Sequence[Publication]) -> list[ev.DeadLettered]:
    found = [p for p in publications if p.topic == topics.DEADLETTER]
    assert all(p.key == TOPIC and isinstance(p.event, ev.DeadLettered) for p in found)
    return [p.event for p in found]  # type: ignore[misc]


async def kept(sessions: Sessions, log_id: str = "log-1") -> dict[int, int]:
    """partition -> the projector's next offset in conversation.events, as it kept it for `log_id`."""
    async with sessions() as s:
        found = await offsets.stored(s, "projector", [topics.CONVERSATIONS.name], log_id)
    return {partition: next_offset for (_, partition), next_offset in found.items()}


async def test_a_batch_is_projected_with_its_offsets_and_returns_live_frames(settings: Settings, sessions: Sessions) -> None:
    h = ProjectorHandler(settings, db=sessions, log_id="log-1")
    out = await h.on_records(good_batch())
    assert await messages(sessions) == {"a-1": ("conv-ana", "in", None), "a-2": ("conv-ana", "out", "queued"), "b-1": ("conv-babak", "in", None)}
    async with sessions() as s:
        convs = {c.id: (c.contact_id, c.status, c.channel) for c in (await s.scalars(select(Conversation))).all()}
    assert convs == {"conv-ana": ("contact-ana", "open", "sms"), "conv-babak": ("contact-babak", "open", "sms")}
    assert await kept(sessions) == {0: 13, 1: 2}  # the last offset + 1 of each partition
    shown = frames(out.publish)
    assert sorted(f["message"]["id"] for f in shown if f["type"] == "message.created") == ["a-1", "a-2", "b-1"]
    assert {f["conversation"]["id"] for f in shown if f["type"] == "conversation.updated"} == {"conv-ana", "conv-babak"}


async def test_the_same_batch_again_changes_nothing(settings: Settings, sessions: Sessions) -> None:
    h = ProjectorHandler(settings, db=sessions, log_id="log-1")
    await h.on_records(good_batch())
    before = await rows(sessions)
    again = await h.on_records(good_batch())
    assert await rows(sessions) == before
    assert await kept(sessions) == {0: 13, 1: 2}
    assert not [f for f in frames(again.publish) if f["type"] == "message.created"]  # no agent sees a message twice


async def test_an_undecodable_record_is_dead_lettered_its_offset_advances_and_the_rest_is_projected(settings: Settings, sessions: Sessions) -> None:
    h = ProjectorHandler(settings, db=sessions, log_id="log-1")
    batch = {TP0: ana(opened(*ANA), b"\xff not json at all", received(*ANA, "a-1", 1)),
             TP1: records(1, 4, received(*BABAK, "b-1", 2), b'{"type":"MessageReceived","id":"half"}')}
    out = await h.on_records(batch)
    found = letters(out.publish)
    assert [(d.source_topic, d.partition, d.offset, d.processor) for d in found] == [(TOPIC, 0, 11, "projector"), (TOPIC, 1, 5, "projector")]
    assert found[0].reason.startswith("undecodable: not JSON") and found[0].payload == "\ufffd not json at all"
    assert "contact_id" in found[1].reason  # the missing field is named
    assert set(await messages(sessions)) == {"a-1", "b-1"}
    assert await kept(sessions) == {0: 13, 1: 6}  # past the bad records: a restart does not meet them again
    assert {p.event.conversation_id for p in out.publish if p.topic == topics.LIVE} == {"conv-ana", "conv-babak"}  # type: ignore[attr-defined]


async def test_an_event_that_fails_to_project_is_dead_lettered_alone(settings: Settings, sessions: Sessions) -> None:
    h = ProjectorHandler(settings, db=sessions, log_id="log-1")
    poison = received(*ANA, "a-poison", 1, meta="not a mapping")  # type: ignore[arg-type]
    out = await h.on_records({TP0: ana(opened(*ANA), poison, received(*ANA, "a-1", 2))})
    (letter,) = letters(out.publish)
    assert (letter.offset, letter.processor) == (11, "projector") and letter.reason.startswith("ValueError")
    assert set(await messages(sessions)) == {"a-1"}
    assert await kept(sessions) == {0: 13}


async def test_the_deadletter_handler_keeps_each_letter_once(settings: Settings, sessions: Sessions) -> None:
    out = await ProjectorHandler(settings, db=sessions, log_id="log-1").on_records({TP0: ana(b"\xff poison", start=7)})
    (letter,) = letters(out.publish)
    spec, h = by_name("deadletter"), DeadletterHandler(settings, db=sessions)
    published: list[Publication] = []

    async def publish(p: Sequence[Publication]) -> None:
        published.extend(p)

    for _ in range(2):  # redelivered: still one row
        await process_record(spec, h, Record(topics.DEADLETTER.name, 0, 0, letter.to_json()), None, publish)
    assert published == []
    async with sessions() as s:
        (row,) = (await s.scalars(select(DeadLetter))).all()
    assert (row.id, row.source_topic, row.partition, row.offset, row.processor) == (letter.id, TOPIC, 0, 7, "projector")
    assert row.reason == letter.reason and row.payload == "\ufffd poison"
    other = letter.replace(id="rebuilt-letter")
    await h.rebuild([other])  # a rebuild writes no database
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(DeadLetter)) == 1
