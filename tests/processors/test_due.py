"""Timers ordered by due time (processors/due.py): a tick looks only at what is due, follows
every change the record loop applies, and is built again from the table after the table
moved under it (a rebalance, a recovery, a restart)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hub import events as ev
from hub.domain import sla
from processors import sla as sla_processor
from processors.due import DueIndex
from processors.sla import SlaHandler
from tests.processors.test_sla_handler import CONFIG, settings_from

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)


def opened(contact: str, at: datetime) -> list[ev.Event]:
    conv = f"conv-{contact}"
    return [ev.ConversationOpened(id=f"o-{contact}", at=at, contact_id=contact, conversation_id=conv, channel="web", address="s"),
            ev.MessageReceived(id=f"m-{contact}", at=at, contact_id=contact, conversation_id=conv, channel="web", address="s", text="hello")]


async def fed(h: SlaHandler, events: list[ev.Event]) -> None:
    h.apply(await h.handle(events))  # one batch, as the record loop hands it over


@pytest.fixture
def handler(tmp_path: Path) -> SlaHandler:
    return SlaHandler(settings_from(tmp_path, CONFIG))


async def test_a_tick_looks_only_at_what_is_due(handler: SlaHandler, monkeypatch: pytest.MonkeyPatch) -> None:
    # 2,000 clocks opened a minute apart: at T0 + 5 min only the first conversations are due
    await fed(handler, [e for i in range(2000) for e in opened(f"c{i}", T0 + i * MIN)])
    looked: list[object] = []
    real = sla.due
    monkeypatch.setattr(sla_processor.sla, "due", lambda state, now: looked.append(state) or real(state, now))
    first = handler.tick(T0 + 4 * MIN).events()  # the 80 % warning of the first conversation
    assert [(e.type, e.conversation_id) for e in first] == [("SlaWarning", "conv-c0")]
    assert len(looked) == 1
    looked.clear()
    assert handler.tick(T0 + 4 * MIN + timedelta(seconds=0.1)).events() == [] and looked == []  # nothing new is due: nothing is read


async def test_the_index_follows_every_change_the_loop_applies(handler: SlaHandler) -> None:
    await fed(handler, opened("a", T0) + opened("b", T0))
    assert len(handler.tick(T0).events()) == 0 and len(handler.index) == 2
    # a's conversation resolved: its clocks are gone from the table and from the index
    await fed(handler, [ev.ConversationResolved(id="r-a", at=T0 + MIN, contact_id="a", conversation_id="conv-a", by="alice")])
    assert "a" not in handler.table and len(handler.index) == 1
    assert {e.conversation_id for e in handler.tick(T0 + 10 * MIN).events()} == {"conv-b"}


async def test_a_clock_due_is_fired_once_and_the_next_one_after_it_is_read_back(handler: SlaHandler) -> None:
    await fed(handler, opened("a", T0))
    (warning,) = handler.tick(T0 + 4 * MIN).events()
    assert handler.tick(T0 + 4 * MIN + timedelta(seconds=1)).events() == []  # published, not read back: not again
    await fed(handler, [warning])
    (breach,) = handler.tick(T0 + 5 * MIN).events()
    assert breach.type == "SlaBreached" and breach.clock == "first_response"  # type: ignore[attr-defined]


async def test_after_the_table_moved_under_it_the_index_is_built_again_from_the_table(handler: SlaHandler) -> None:
    await fed(handler, opened("a", T0))
    handler.tick(T0)
    # a rebalance hands this worker a partition whose table faust recovered: b was never fed here
    other = SlaHandler(handler.settings)
    await fed(other, opened("b", T0 - 10 * MIN))
    handler.table.update(other.table)
    assert handler.tick(T0 + MIN).events() == []  # not seen yet: the index does not know b
    handler.table_moved()
    # b's first response fell due while it was elsewhere: its warning and breach fire now
    assert [(e.type, e.conversation_id) for e in handler.tick(T0 + MIN).events()] == [("SlaWarning", "conv-b"), ("SlaBreached", "conv-b")]


def test_stale_entries_are_skipped_and_compacted() -> None:
    index = DueIndex(lambda due: due)
    index.rebuild({})
    for i in range(5000):  # one conversation whose deadline moves 5,000 times
        index.set("k", "c", T0 + i * MIN)
    assert len(index.heap) < 5000 and len(index) == 1
    assert list(index.due(T0 + 10 * MIN)) == []  # the early deadlines it held are stale
    assert list(index.due(T0 + 5000 * MIN)) == [("k", "c")]
    assert list(index.due(T0 + 5000 * MIN)) == []  # popped once
