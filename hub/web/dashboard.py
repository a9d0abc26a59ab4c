"""GET /api/v1/dashboard: the live queue state a manager watches. Per queue the open
conversations, how many nobody holds, how many wait on an answer and the longest wait; the
agents, who is online and how loaded; the unresolved complaints, oldest first.

Aggregates run in SQL (a few grouped queries, hub/store/reports.py), so the cost stays flat with the number of
conversations: the page must answer quickly with 10,000 of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from aiohttp import web

from hub.auth import ROLES
from hub.events import utcnow
from hub.store import lookups, reports
from hub.store.views import age_seconds, complaint_since, iso
from hub.web.context import hub_of, require
from hub.web.presence import online_agents

routes = web.RouteTableDef()
COMPLAINTS_SHOWN = 50


def queue_rows(configured: list[str], rows: Sequence[Sequence[Any]], now: datetime) -> list[dict[str, Any]]:
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
    async with hub.db() as s:
        per_queue = await reports.open_by_queue(s)
        loads = await reports.loads(s)
        users = await lookups.users(s)
        complaints_total = await reports.unresolved_complaints_count(s)
        complaints = await reports.unresolved_complaints(s, COMPLAINTS_SHOWN)
        open_escalations = await reports.open_escalations(s)
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
