"""GET /api/v1/reports/satisfaction (lead and up): CSAT (mean, distribution, count, response
rate) and NPS (score, promoters, passives, detractors) of the surveys asked in a period, by
channel, queue or agent, each split by the first response's SLA outcome; a series by day in
`tz` for the manager's chart, and the latest low scores (hub/domain/surveys.py `report_of`)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from hub.domain.surveys import REPORT_GROUPS, report_of
from hub.store import reports
from hub.web.context import hub_of, require
from hub.web.errors import ApiError
from hub.web.reports import query_choice, query_period

routes = web.RouteTableDef()
DEFAULT_PERIOD = timedelta(days=30)


def _zone(request: web.Request) -> ZoneInfo:
    name = request.query.get("tz") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ApiError(400, "invalid", f"`tz` must be an IANA time zone such as Asia/Tehran, not {name!r}") from exc


@routes.get("/api/v1/reports/satisfaction")
async def satisfaction(request: web.Request) -> web.Response:
    require(request, "lead")
    by = query_choice(request, "by", REPORT_GROUPS, "channel")
    start, end = query_period(request, DEFAULT_PERIOD)
    zone = _zone(request)
    async with hub_of(request).db() as s:
        rows = await reports.surveys_asked(s, start, end)
    body = {"from": start.isoformat(), "to": end.isoformat(), "by": by, "tz": zone.key, **report_of(rows, by, zone)}
    return web.json_response(body)
