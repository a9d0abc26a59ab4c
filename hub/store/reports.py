"""The manager's pages' aggregates: the dashboard's live queue state and the timeseries'
SLA deadlines. Each is one grouped or narrowed statement, so its cost stays flat with the
number of conversations (the pages must answer quickly with 10,000 of them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import ColumnElement, Row, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.contacts import UNRESOLVED
from hub.store.models import Contact, Conversation, Escalation, Survey


async def open_by_queue(s: AsyncSession) -> list[Row[tuple[str | None, int, int | None, int, datetime | None]]]:
    """Per queue of the open conversations: (queue, open, unassigned, waiting, oldest
    waiting_since)."""
    c = Conversation
    return list(await s.execute(
        select(c.queue, func.count(), func.sum(case((c.assignee.is_(None), 1), else_=0)),
               func.count(c.waiting_since), func.min(c.waiting_since))
        .where(c.status == "open").group_by(c.queue)
    ))


async def loads(s: AsyncSession) -> dict[str, int]:
    """agent -> how many unresolved conversations she holds."""
    c = Conversation
    return dict((await s.execute(
        select(c.assignee, func.count()).where(c.status.in_(UNRESOLVED), c.assignee.is_not(None)).group_by(c.assignee)
    )).all())


def _unresolved_complaint() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (Conversation.complaint.is_(True), Conversation.status.in_(UNRESOLVED))


async def unresolved_complaints_count(s: AsyncSession) -> int | None:
    return await s.scalar(select(func.count()).select_from(Conversation).where(*_unresolved_complaint()))


async def unresolved_complaints(s: AsyncSession, limit: int) -> list[tuple[Conversation, str | None]]:
    """(conversation, its contact's name), the longest a complaint first."""
    c = Conversation
    rows = await s.execute(
        select(c, Contact.name).outerjoin(Contact, Contact.id == c.contact_id)
        .where(*_unresolved_complaint()).order_by(func.coalesce(c.complaint_at, c.created_at)).limit(limit)
    )
    return [(conv, name) for conv, name in rows]


async def open_escalations(s: AsyncSession) -> int | None:
    return await s.scalar(select(func.count()).select_from(Escalation).where(Escalation.acknowledged_at.is_(None)))


async def sla_marks(session: AsyncSession, clocks: Sequence[str], marks: Sequence[str], low: str, high: str) -> list[Row[Any]]:
    """(channel, queue, then each clock's `marks` as text out of the `sla` JSON, clock by
    clock) of the conversations one of whose deadlines (the first of `marks`) is between
    `low` and `high`. Compared as ISO strings: a narrowing only, the caller finds the exact
    bucket."""
    c = Conversation
    values = [c.sla[clock][mark].as_string() for clock in clocks for mark in marks]
    dues = values[::len(marks)]
    # core rows through the session's connection: the ORM's row loading would cost more than
    # the query itself with 10,000 conversations
    conn = await session.connection()
    return list(await conn.execute(select(c.channel, c.queue, *values).where(or_(*(d.between(low, high) for d in dues)))))


async def surveys_asked(s: AsyncSession, start: datetime, end: datetime) -> list[Survey]:
    """Every survey asked in [start, end), for the satisfaction report."""
    return list(await s.scalars(select(Survey).where(Survey.asked_at >= start, Survey.asked_at < end).order_by(Survey.asked_at, Survey.id)))


async def survey(s: AsyncSession, survey_id: str) -> Survey | None:
    return await s.get(Survey, survey_id)


async def open_surveys(s: AsyncSession, contact_id: str, channel: str, now: datetime) -> list[Survey]:
    """A contact's surveys on `channel` still waiting for an answer (the chat widget asks
    them again on her next connect)."""
    return list(await s.scalars(select(Survey).where(Survey.contact_id == contact_id, Survey.channel == channel, Survey.answered_at.is_(None),
                                                     Survey.expired_at.is_(None), Survey.expires_at > now).order_by(Survey.asked_at)))
