"""The response-time report's timings, paired in the database.

hub/domain/response_times.timings is the rule: a customer's first message since the last
human reply starts a wait, the next human reply ends it; the first such pair is the first
response, the rest next responses. Reading every message of a month into Python to apply it
took 300-500 ms with 10,000 conversations (bench/pages.py). Here the database numbers each
message by the human replies before it (k): a wait and its answer are then the first
customer message and the one human reply that share a k, one row per (conversation, k).
tests/hub/store/test_report_timings.py holds this to the rule on both databases."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain import response_times as rt
from hub.store.db import as_utc
from hub.store.models import Conversation, Message


def _pairs_query(start: datetime, end: datetime) -> Any:
    m, c = Message.__table__, Conversation.__table__
    human = and_(m.c.direction == "out", func.coalesce(m.c.author, "").not_in(sorted(rt.AUTOMATIC_AUTHORS)))
    # Automatic replies neither start nor end a wait: left out, so the row before a customer
    # message tells whether it starts one (it does after a human reply, or first of all).
    base = (
        select(m.c.conversation_id.label("cid"), m.c.direction.label("d"), m.c.at, m.c.id, m.c.channel, m.c.author,
               case((human, 1), else_=0).label("h"))
        .join(c, c.c.id == m.c.conversation_id)
        .where(c.c.created_at >= start, c.c.created_at < end, or_(m.c.direction == "in", human))
        .cte("base")
    )
    # one order for both windows (time; id breaks ties), so the database sorts once
    order = {"partition_by": base.c.cid, "order_by": (base.c.at, base.c.id)}
    before = func.sum(base.c.h).over(rows=(None, -1), **order)  # human replies before each message
    numbered = select(base, func.coalesce(before, 0).label("k"), func.lag(base.c.d).over(**order).label("prev")).cte("numbered")
    r = numbered.c
    opens = and_(r.d == "in", or_(r.prev.is_(None), r.prev != "in"))
    start_at = func.max(case((opens, r.at)))
    return (
        select(r.cid, r.k, start_at.label("start_at"), func.max(case((opens, r.channel))).label("start_channel"),
               func.max(case((r.h == 1, r.at))).label("end_at"), func.max(case((r.h == 1, r.author))).label("agent"))
        .group_by(r.cid, r.k)
        .having(start_at.is_not(None))  # replies nobody waited for
        .order_by(r.cid, r.k)
    )


async def window_timings(s: AsyncSession, start: datetime, end: datetime) -> list[tuple[rt.Timing, Any]]:
    """(timing, conversation row with id, channel, queue, status, created_at, resolved_at,
    assignee) for the conversations opened in [start, end): what rt.timings gives for each."""
    c = Conversation.__table__.c
    convs = {r.id: r for r in (await s.execute(
        select(c.id, c.channel, c.queue, c.status, c.created_at, c.resolved_at, c.assignee).where(c.created_at >= start, c.created_at < end)
    )).all()}
    if not convs:
        return []
    groups: dict[str, list[Any]] = defaultdict(list)
    for row in (await s.execute(_pairs_query(start, end))).all():
        groups[row.cid].append(row)
    out: list[tuple[rt.Timing, Any]] = []
    for cid, conv in convs.items():
        answered = False
        first_channel: str | None = None  # of the first customer message, as the rule has it
        for g in groups.get(cid, ()):
            if first_channel is None:
                first_channel = g.start_channel
            if g.end_at is not None:
                kind = "next_response" if answered else "first_response"
                out.append((rt.Timing(kind, as_utc(g.start_at), as_utc(g.end_at), g.start_channel, g.agent), conv))  # type: ignore[arg-type]
                answered = True
        if conv.resolved_at and conv.status == "resolved":
            out.append((rt.Timing("resolution", as_utc(conv.created_at), as_utc(conv.resolved_at), first_channel or "", conv.assignee), conv))  # type: ignore[arg-type]
    return out
