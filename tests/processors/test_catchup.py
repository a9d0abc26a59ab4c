"""After a refill: which records are history, when every processor has read past the ends
(timers run then, once), and what of a rebuild's decisions the log still lacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from hub import events as ev
from hub import topics
from processors.base import Publication
from processors.catchup import CatchUp

CONV, INBOUND = topics.CONVERSATIONS.name, topics.INBOUND.name


@dataclass
class Record:
    topic: str
    partition: int
    offset: int


def catchup() -> tuple[CatchUp, list[str]]:
    ends = {(CONV, 0): 3, (CONV, 1): 0, (INBOUND, 0): 2}  # partition 1 was empty: nothing to wait for
    c = CatchUp(ends, [("intake", [INBOUND, CONV]), ("dispatch", [CONV])], logged={"known"})
    told: list[str] = []
    c.on_done.append(lambda: told.append("timers run"))
    return c, told


def test_records_below_the_ends_are_history_and_the_rest_is_new() -> None:
    c, _ = catchup()
    assert c.history(Record(CONV, 0, 2)) and not c.history(Record(CONV, 0, 3))
    assert not c.history(Record(CONV, 1, 0)) and not c.history(Record(topics.LIVE.name, 0, 0))


def test_done_once_when_every_reader_passed_every_end_it_reads() -> None:
    c, told = catchup()
    for r in (Record(INBOUND, 0, 1), Record(CONV, 0, 2)):
        c.saw("intake", r)
    c.saw("dispatch", Record(CONV, 0, 1))
    assert not c.done and told == []  # dispatch is one record short on conversation.events:0
    c.saw("dispatch", Record(CONV, 0, 2))
    c.saw("dispatch", Record(CONV, 0, 3))
    assert c.done and told == ["timers run"]


def test_a_reader_that_starts_at_the_end_is_caught_up_there_and_one_behind_it_is_not() -> None:
    c, told = catchup()
    c.saw("intake", Record(INBOUND, 0, 1))
    c.saw("intake", Record(CONV, 0, 2))
    c.starts_at("dispatch", CONV, 0, 2)  # a kept position short of the end: it still reads history
    assert not c.done
    c.starts_at("dispatch", CONV, 0, 3)
    assert c.done and told == ["timers run"]


def test_only_what_the_log_lacks_is_published_again() -> None:
    c, _ = catchup()
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    made = [Publication(topics.CONVERSATIONS, "k", ev.ConversationMarkedPending(id=i, at=at, contact_id="c", conversation_id="x", by="a"))
            for i in ("known", "new")]
    assert [p.event.id for p in c.missing(made)] == ["new"]
