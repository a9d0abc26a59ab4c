"""The report's timings paired in the database (hub/store/report_timings.py) are the ones
the rule (hub/domain/response_times.timings) gives for the same messages, on SQLite and
PostgreSQL: over the page bench's seeded conversations (random in/out/note sequences, one
of 200 messages) and conversations written for the edges (automatic replies, an agent
writing first, two replies in a row, no customer message, an empty author, nothing at all)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from bench.seed import seed
from hub.domain import response_times as rt
from hub.store import db, report_timings
from hub.store.db import as_utc
from hub.store.models import Conversation, Message
from hub.store.report_timings import window_timings
from tests.bench.test_pages import _database

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
T0 = NOW - timedelta(days=3)


def edge_cases() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(conversations, messages): each a sequence of (direction, author, channel) a minute apart."""
    cases = {
        "edge-auto": [("in", "", "web"), ("out", "hub", "web"), ("in", "", "sms"), ("out", "bot", "web"), ("out", "sara", "web")],
        "edge-agent-first": [("out", "sara", "email"), ("out", "sara", "email"), ("in", "", "email"), ("out", "ali", "email")],
        "edge-two-replies": [("in", "", "telegram"), ("out", "sara", "telegram"), ("out", "ali", "telegram"), ("in", "", "web"),
                             ("in", "", "sms"), ("note", "sara", "note"), ("out", "ali", "sms"), ("in", "", "sms")],
        "edge-no-customer": [("out", "sara", "sms")],
        "edge-empty": [],
        "edge-empty-author": [("in", "", "api"), ("out", "", "api"), ("out", "sara", "api")],
    }
    convs, msgs = [], []
    for n, (cid, seq) in enumerate(cases.items()):
        start = T0 + timedelta(hours=n)
        convs.append({"id": cid, "contact_id": "edge", "status": "resolved", "priority": "normal", "complaint": False, "queue": "support",
                      "assignee": "sara", "channel": "web", "subject": "", "waiting_since": None, "last_message_at": start,
                      "created_at": start, "resolved_at": start + timedelta(hours=1), "context": {}, "sla": {}})
        for i, (direction, author, channel) in enumerate(seq):
            msgs.append({"id": f"{cid}-{i}", "conversation_id": cid, "direction": direction, "channel": channel, "text": "x",
                         "author": author, "at": start + timedelta(minutes=i), "delivery": None, "error": None,
                         "provider_id": "", "attachments": [], "meta": {}})
    return convs, msgs


def key(t: rt.Timing) -> tuple[Any, ...]:
    return (t.kind, t.start, t.end, t.channel, t.agent)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
@pytest.mark.parametrize("batch", [report_timings.BATCH, 7])  # 7: conversations split across fetches
async def test_the_database_pairs_what_the_rule_pairs(kind: str, batch: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_timings, "BATCH", batch)
    url = await _database(kind, tmp_path)
    await seed(url, 400, seed=5, days=6, now=NOW)
    convs, msgs = edge_cases()
    engine = db.make_engine(url)
    try:
        async with db.sessionmaker(engine)() as s, s.begin():
            await s.execute(insert(Conversation.__table__), convs)
            await s.execute(insert(Message.__table__), msgs)
        start, end = NOW - timedelta(days=4), NOW
        async with db.sessionmaker(engine)() as s:
            got = await window_timings(s, start, end)
            rows = list(await s.scalars(select(Conversation).where(Conversation.created_at >= start, Conversation.created_at < end)))
            messages: dict[str, list[rt.Message]] = defaultdict(list)
            for m in await s.scalars(select(Message).order_by(Message.at, Message.id)):  # the rule's order; id breaks ties
                messages[m.conversation_id].append(rt.Message(m.direction, as_utc(m.at), m.author or "", m.channel))
    finally:
        await engine.dispose()
    expected: dict[str, list[tuple[Any, ...]]] = {}
    for conv in rows:
        resolved = as_utc(conv.resolved_at) if conv.resolved_at and conv.status == "resolved" else None
        expected[conv.id] = sorted(key(t) for t in rt.timings(messages[conv.id], as_utc(conv.created_at), resolved, conv.assignee))
    actual: dict[str, list[tuple[Any, ...]]] = {conv.id: [] for conv in rows}
    for t, conv in got:
        actual[conv.id].append(key(t))
    assert {k: sorted(v) for k, v in actual.items()} == expected
    assert len(rows) > 100 and sum(map(len, expected.values())) > 200  # the window held the data, not nothing
    kinds = {k[0] for v in expected.values() for k in v}
    assert kinds == {"first_response", "next_response", "resolution"}
    # the edges, spelled out: automatic replies answer nothing; an agent writing first waits for the customer
    assert [k[0] for k in expected["edge-auto"]] == ["first_response", "resolution"] and expected["edge-auto"][0][4] == "sara"
    assert sorted(k[0] for k in expected["edge-two-replies"]) == ["first_response", "next_response", "resolution"]
    assert [k[0] for k in expected["edge-no-customer"]] == ["resolution"] and expected["edge-no-customer"][0][3] == ""
