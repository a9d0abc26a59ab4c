"""The response-time report's timings: one lean, ordered read of the messages that matter,
paired in one pass.

hub/domain/response_times.timings is the rule: a customer's first message since the last
human reply starts a wait, the next human reply ends it; the first such pair is the first
response, the rest next responses. Building rt.Message objects for every message and sorting
them per conversation took 300-500 ms with 10,000 conversations (bench/pages.py); pairing
with window functions in SQL (sum/lag over each conversation, then GROUP BY) moved most of
that into SQLite, whose window functions alone took ~80 ms of a ~200 ms read. Here the
database only filters and orders (customer messages and human replies of the period's
conversations, by conversation, time, id: the rule's order, id breaking ties) and one loop
over plain rows applies the rule, with no per-message objects. The same on both databases;
tests/hub/store/test_report_timings.py holds it to the rule on both."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain import response_times as rt
from hub.store.db import as_utc
from hub.store.models import Conversation, Message


def _messages_query(start: datetime, end: datetime) -> Any:
    m, c = Message.__table__.c, Conversation.__table__.c
    # Automatic replies neither start nor end a wait and notes answer nobody: left out, so
    # the rows are exactly the customer messages and the human replies. author is NOT NULL.
    human = and_(m.direction == "out", m.author.not_in(sorted(rt.AUTOMATIC_AUTHORS)))
    # IN, not a join: SQLite then walks ix_messages_conversation_at_id (migration 0008) in
    # its order, with no sort and no visit to the table (a join by creation time sorted)
    opened = select(c.id).where(c.created_at >= start, c.created_at < end)
    return (
        # `at` as the driver gives it: SQLite's text is parsed only for the times of pairs
        # (_when), not for all ~23,000 rows a month (~25 ms in SQLAlchemy's processor)
        select(m.conversation_id, m.direction, type_coerce(m.at, String), m.channel, m.author)
        .where(m.conversation_id.in_(opened), or_(m.direction == "in", human))
        .order_by(m.conversation_id, m.at, m.id)
    )


def _when(value: Any) -> datetime:
    """A message's time as read: text from SQLite (SQLAlchemy's own format, naive UTC),
    a datetime from PostgreSQL."""
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)  # type: ignore[return-value]


BATCH = 2000  # rows per fetch of the messages


class _Pairing:
    """The rule over rows (conversation_id, direction, at, channel, author) ordered by
    conversation and time, fed in batches: (timing, conversation) pairs and
    {conversation: its first customer message's channel}; the pairs go straight into `out`
    with their conversation's row. Only the times of pairs are parsed."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.waiting: tuple[Any, str] | None = None  # (at, channel) of the message the next reply answers
        self.answered = False

    def feed(self, rows: Any, convs: dict[str, Any], out: list[tuple[rt.Timing, Any]], first_channel: dict[str, str]) -> None:
        current, waiting, answered = self.current, self.waiting, self.answered
        for cid, direction, at, channel, author in rows:
            if cid != current:
                current, waiting, answered = cid, None, False
            if direction == "in":
                if waiting is None:
                    waiting = (at, channel)
                    first_channel.setdefault(cid, channel)
            elif waiting is not None:  # a human reply (the query keeps no other "out")
                kind = "next_response" if answered else "first_response"
                conv = convs.get(cid)  # None: opened between the two reads, left for the next report
                if conv is not None:
                    out.append((rt.Timing(kind, _when(waiting[0]), _when(at), waiting[1], author), conv))
                answered, waiting = True, None
        self.current, self.waiting, self.answered = current, waiting, answered


async def window_timings(s: AsyncSession, start: datetime, end: datetime) -> list[tuple[rt.Timing, Any]]:
    """(timing, conversation row with id, channel, queue, status, created_at, resolved_at,
    assignee) for the conversations opened in [start, end): what rt.timings gives for each."""
    c = Conversation.__table__.c
    convs = (await s.execute(
        select(c.id, c.channel, c.queue, c.status, c.created_at, c.resolved_at, c.assignee).where(c.created_at >= start, c.created_at < end)
    )).all()
    if not convs:
        return []
    by_id = {conv.id: conv for conv in convs}
    out: list[tuple[rt.Timing, Any]] = []
    first_channel: dict[str, str] = {}
    state = _Pairing()
    # in batches, so each batch's rows are freed young instead of all ~23,000 surviving
    # into the collector's oldest generation (its full passes showed in the bench's p90)
    async for batch in (await s.stream(_messages_query(start, end))).partitions(BATCH):
        state.feed(batch, by_id, out, first_channel)
    for conv in convs:
        if conv.resolved_at and conv.status == "resolved":
            out.append((rt.Timing("resolution", as_utc(conv.created_at), as_utc(conv.resolved_at), first_channel.get(conv.id, ""), conv.assignee), conv))  # type: ignore[arg-type]
    return out
