"""The batch loop (processors/agents.py): one decoding per record for every member, each
member's records in log order in one call, its table written once per batch, one publish
per batch, and a record a member fails on dead-lettered without losing the rest."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

import pytest

from hub import events as ev
from hub import topics
from hub.config import Settings
from processors import agents
from processors.agents import Member, process_batch
from processors.base import Handler, Outcome, Publication, Staged
from processors.catchup import CatchUp
from processors.pipeline import Processor
from tests.support.worker import Record

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def spec(name: str, handles: set[str], reads: tuple[topics.TopicSpec, ...] = (topics.CONVERSATIONS,)) -> Processor:
    return Processor(name=name, reads=reads, handles=frozenset(handles), publishes=(topics.CONVERSATIONS,), handler="x:y", table=name)


class Counting(Handler):
    """Counts what each key saw; emits one event per event; raises on a text of "boom"."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.calls: list[list[str]] = []

    async def handle(self, events: Sequence[ev.Event]) -> Outcome:
        self.calls.append([e.id for e in events])
        return await super().handle(events)

    async def on_event(self, event: ev.Event, table: Staged, out: Outcome) -> None:
        if getattr(event, "text", "") == "boom":
            raise RuntimeError("cannot handle this one")
        key = getattr(event, "contact_id", "")
        table.set(key, (table.get(key) or 0) + 1)
        out.emit(topics.CONVERSATIONS, key, ev.ConversationResolved(id=f"out-{event.id}", at=T0, contact_id=key, conversation_id="c", by="bot"))


class WritesCounted(dict):  # type: ignore[type-arg]
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def message(offset: int, contact: str, text: str = "hi", topic: topics.TopicSpec = topics.CONVERSATIONS) -> Record:
    e = ev.MessageReceived(id=f"m{offset}", at=T0, contact_id=contact, conversation_id=f"c-{contact}", channel="api", address=contact, text=text)
    return Record(topic.name, 0, offset, contact.encode(), e.to_json())


def resolved(offset: int, contact: str) -> Record:
    e = ev.ConversationResolved(id=f"r{offset}", at=T0, contact_id=contact, conversation_id=f"c-{contact}", by="alice")
    return Record(topics.CONVERSATIONS.name, 0, offset, contact.encode(), e.to_json())


class Published:
    def __init__(self) -> None:
        self.calls: list[list[Publication]] = []

    async def __call__(self, publications: Sequence[Publication]) -> None:
        self.calls.append(list(publications))


def two_members() -> tuple[Member, Member]:
    a, b = Counting(Settings()), Counting(Settings())
    a.table, b.table = WritesCounted(), WritesCounted()
    return (Member(spec("a", {"MessageReceived"}), a, a.table), Member(spec("b", {"MessageReceived", "ConversationResolved"}), b, b.table))


async def test_each_record_is_decoded_once_for_every_member_and_each_member_gets_its_types_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[bytes | str] = []
    real = ev.from_json

    def counting(raw: bytes | str) -> ev.Event:
        decoded.append(raw)
        return real(raw)

    monkeypatch.setattr(agents.ev, "from_json", counting)
    a, b = two_members()
    records = [message(0, "k1"), resolved(1, "k1"), message(2, "k2"), message(3, "k1")]
    published = Published()
    await process_batch([a, b], records, published)
    assert len(decoded) == len(records)  # not once per member
    assert a.handler.calls == [["m0", "m2", "m3"]]  # one call, its types only, log order  # type: ignore[attr-defined]
    assert b.handler.calls == [["m0", "r1", "m2", "m3"]]  # type: ignore[attr-defined]
    # the table is written once per key per batch, with what the whole batch made of it
    assert dict(a.table) == {"k1": 2, "k2": 1} and a.table.writes == 2  # type: ignore[union-attr,attr-defined]
    assert dict(b.table) == {"k1": 3, "k2": 1} and b.table.writes == 2  # type: ignore[union-attr,attr-defined]
    assert len(published.calls) == 1 and len(published.calls[0]) == 7  # one publish for the batch's outputs


async def test_types_nobody_handles_are_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[Any] = []
    real = ev.from_json
    monkeypatch.setattr(agents.ev, "from_json", lambda raw: decoded.append(raw) or real(raw))
    a, _ = two_members()
    published = Published()
    await process_batch([a], [resolved(0, "k1"), resolved(1, "k2")], published)
    assert decoded == [] and published.calls == [] and a.handler.calls == []  # type: ignore[attr-defined]


async def test_a_record_one_member_fails_on_is_dead_lettered_and_the_rest_of_the_batch_is_handled() -> None:
    a, b = two_members()
    records = [message(0, "k1"), message(1, "k2", "boom"), message(2, "k1")]
    published = Published()
    await process_batch([a, b], records, published)
    out = [p for call in published.calls for p in call]
    letters = [p.event for p in out if p.topic == topics.DEADLETTER]
    assert len(letters) == 2  # once per member that failed on it
    assert {(d.processor, d.offset) for d in letters} == {("a", 1), ("b", 1)}  # type: ignore[attr-defined]
    assert all("RuntimeError: cannot handle this one" in d.reason for d in letters)  # type: ignore[attr-defined]
    # the other records went through, once: the failed batch call applied nothing
    assert dict(a.table) == {"k1": 2} and dict(b.table) == {"k1": 2}  # type: ignore[arg-type]
    assert sorted(p.event.id for p in out if p.topic == topics.CONVERSATIONS) == ["out-m0", "out-m0", "out-m2", "out-m2"]


async def test_an_undecodable_record_is_dead_lettered_once_and_the_others_are_handled() -> None:
    a, b = two_members()
    bad = Record(topics.CONVERSATIONS.name, 0, 1, b"k", b"not json")
    published = Published()
    await process_batch([a, b], [message(0, "k1"), bad, message(2, "k1")], published)
    out = [p for call in published.calls for p in call]
    letters = [p.event for p in out if p.topic == topics.DEADLETTER]
    assert len(letters) == 1 and letters[0].offset == 1 and "undecodable" in letters[0].reason  # type: ignore[attr-defined]
    assert dict(a.table) == {"k1": 2}


async def test_a_batch_across_the_refills_end_folds_the_history_and_handles_the_rest_live() -> None:
    a, _ = two_members()
    seen: list[tuple[str, bool]] = []
    handler = a.handler
    real_handle = handler.handle

    async def watching(events: Sequence[ev.Event]) -> Outcome:
        seen.extend((e.id, handler.rebuilding) for e in events)
        return await real_handle(events)

    handler.handle = watching  # type: ignore[method-assign]
    member = Member(Processor(name="a", reads=(topics.CONVERSATIONS,), handles=frozenset({"MessageReceived"}), publishes=(), handler="x:y", table="a"),
                    handler, handler.table)
    # offsets 0 and 1 were in the log before the restart; out-m0 is there already
    catchup = CatchUp({(topics.CONVERSATIONS.name, 0): 2}, [("a", [topics.CONVERSATIONS.name])], {"out-m0"})
    published = Published()
    await process_batch([member], [message(0, "k1"), message(1, "k1"), message(2, "k1")], published, catchup=catchup)
    assert seen == [("m0", True), ("m1", True), ("m2", False)]
    assert [p.event.id for call in published.calls for p in call] == ["out-m1", "out-m2"]  # what the log lacked, then live
    assert catchup.done
