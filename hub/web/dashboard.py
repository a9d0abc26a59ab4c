"""GET /api/v1/dashboard: the live queue state a manager watches. Per queue the open
conversations, how many nobody holds, how many wait on an answer and the longest wait; the
agents, who is online and how loaded; the unresolved complaints, oldest first.

Aggregates run in SQL (a few grouped queries), so the cost stays flat with the number of
conversations: the page must answer quickly with 10,000 of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import case, func, select

from hub.auth import ROLES
from hub.events import utcnow
from hub.store.models import Contact, Conversation, Escalation, User
from hub.store.views import age_seconds, complaint_since, iso
from hub.web.context import hub_of, require
from hub.web.presence import online_agents

routes = web.RouteTableDef()
COMPLAINTS_SHOWN = 50
UNRESOLVED = ("open", "pending")


def queue_rows(configured: list[str], rows: list[tuple[Any, ...]], now: datetime) -> list[dict[str, Any]]:
    """Configured queues first (an idle one shows its zeros), then any other the data names.
    A row is (queue, open, unassigned, waiting, oldest waiting_since)."""
    found = {(r[0] or "(none)"): r for r in rows}
    names = [*configured, *sorted(n for n in found if n not in configured)]
    out = []
    for name in names:
        _, open_, unassigned, waiting, oldest = found.get(name, (name, 0, 0, 0, None))
        out.append({"queue": name, "open": int(open_ or 0), "unassigned": int(unassigned or 0), "waiting": int(waiting or 0),
                    "longest_wait_seconds": age_seconds(oldest, now), "waiting_since": iso(oldest)})
    return out


@routes.get("/api/v1/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    require(request, "lead")
    hub = hub_of(request)
    now = utcnow()
    c = Conversation
    async with hub.db() as s:
        per_queue = list(await s.execute(
            select(c.queue, func.count(), func.sum(case((c.assignee.is_(None), 1), else_=0)),
                   func.count(c.waiting_since), func.min(c.waiting_since))
            .where(c.status == "open").group_by(c.queue)
        ))
        loads = dict((await s.execute(
            select(c.assignee, func.count()).where(c.status.in_(UNRESOLVED), c.assignee.is_not(None)).group_by(c.assignee)
        )).all())
        users = list(await s.scalars(select(User).order_by(User.username)))
        complaints_total = await s.scalar(select(func.count()).select_from(c).where(c.complaint.is_(True), c.status.in_(UNRESOLVED)))
        complaints = list(await s.execute(
            select(c, Contact.name).outerjoin(Contact, Contact.id == c.contact_id)
            .where(c.complaint.is_(True), c.status.in_(UNRESOLVED)).order_by(func.coalesce(c.complaint_at, c.created_at)).limit(COMPLAINTS_SHOWN)
        ))
        open_escalations = await s.scalar(select(func.count()).select_from(Escalation).where(Escalation.acknowledged_at.is_(None)))
        online = await online_agents(s, now)  # a live socket on any web process
    agents = [
        {"username": u.username, "role": u.role, "online": u.username in online and not u.away, "away": bool(u.away), "load": int(loads.get(u.username, 0)),
         "capacity": u.capacity, "queues": hub.settings.agent_queues(u.queues)}
        for u in users if u.role in ROLES
    ]
    body = {
        "generated_at": iso(now),
        "queues": queue_rows([q.name for q in hub.settings.queues], per_queue, now),
        "agents": agents,
        "agents_online": sum(1 for a in agents if a["online"]),
        "open_escalations": int(open_escalations or 0),
        "complaints_total": int(complaints_total or 0),
        "complaints": [
            {"conversation_id": conv.id, "contact": name or "", "queue": conv.queue, "assignee": conv.assignee, "status": conv.status,
             "channel": conv.channel, "opened_at": iso(conv.created_at), "marked_at": iso(complaint_since(conv)), "age_seconds": age_seconds(complaint_since(conv), now)}
            for conv, name in complaints
        ],
    }
    return web.json_response(body)
