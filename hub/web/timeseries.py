"""GET /api/v1/reports/timeseries (lead+): first-response and resolution percentiles and SLA
compliance per hour or day, by channel or queue, for the manager's charts.

`?from&to` (ISO 8601; default the last 7 days), `bucket=hour|day` (default day),
`by=channel|queue` (default channel), `calendar=NAME` (optional: buckets follow that
calendar's time zone and the figures gain business_p50/p90/p99). At most 400 buckets.

Three queries whatever the range: the conversations opened in it, their waits and answers
paired in SQL (hub/store/report_timings.py, shared with the response-times report), and the
SLA deadlines (read out of the `sla` JSON in SQL, hub/store/reports.py, so no clock document
is decoded in Python);
the percentiles come from hub.domain.response_times."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from aiohttp import web

from hub.domain import calendar as cal
from hub.domain import response_times as rt
from hub.domain import timeseries as ts
from hub.domain.sla import CLOCKS
from hub.store.report_timings import window_timings
from hub.store.reports import sla_marks
from hub.web.context import hub_of, require
from hub.web.errors import ApiError
from hub.web.reports import business_clock, query_choice, query_period

log = logging.getLogger("hub.web.timeseries")
routes = web.RouteTableDef()
GROUPS = ("channel", "queue")
KINDS = ("first_response", "resolution")
DEFAULT_PERIOD = timedelta(days=7)
MARKS = ("due_at", "met_at", "breached_at")  # what decides a clock, read out of the `sla` JSON in SQL


def _empty(business: bool) -> dict[str, Any]:
    """A bucket without a figure, with the same keys as one that has it."""
    out: dict[str, Any] = {"count": 0, "p50": None, "p90": None, "p99": None}
    if business:
        out.update({"business_p50": None, "business_p90": None, "business_p99": None})
    return out


def _zone(request: web.Request) -> tuple[str | None, Callable[[datetime, datetime], float] | None, ZoneInfo | timezone]:
    """Without `calendar=`: wall time only, UTC buckets (business time for every figure would
    cost a calendar walk each). With it: that calendar's business time and time zone."""
    if not request.query.get("calendar"):
        return None, None, timezone.utc
    name, business = business_clock(request)  # 400 for an unknown name
    calendars = getattr(hub_of(request).settings, "calendars", None) or {}
    found = calendars.get(name) or cal.BUILTIN.get(name or "")
    return name, business, found.zone if found else timezone.utc


def _group(by: str, channel: str, queue: str | None) -> str:
    return channel if by == "channel" else (queue or "(none)")


@routes.get("/api/v1/reports/timeseries")
async def timeseries(request: web.Request) -> web.Response:
    require(request, "lead")
    by = query_choice(request, "by", GROUPS, "channel")
    bucket = query_choice(request, "bucket", tuple(ts.BUCKETS), "day")
    start, end = query_period(request, DEFAULT_PERIOD)
    calendar, business, zone = _zone(request)
    try:
        starts = ts.grid(start, end, bucket, zone)
    except ts.TooManyBuckets as exc:
        raise ApiError(400, "too_many_buckets", str(exc)) from exc
    first, keys = starts[0], [a.isoformat() for a in starts]

    # Deadlines compared as ISO strings in SQL only to narrow the rows (a day's margin covers
    # any offset and fractional seconds); the exact bucket is found below.
    low, high = (first - timedelta(days=1)).isoformat(), (end + timedelta(days=1)).isoformat()
    async with hub_of(request).db() as session:
        # The waits and their answers, paired as the response-time report pairs them.
        found = await window_timings(session, first, end)
        clocks = await sla_marks(session, CLOCKS, MARKS, low, high)

    timings: dict[str, list[tuple[rt.Timing, str]]] = defaultdict(list)  # group -> (timing, bucket start)
    for t, conv in found:
        i = ts.bucket_of(starts, t.start, end) if t.kind in KINDS else None
        if i is not None:
            timings[_group(by, t.channel or conv.channel, conv.queue)].append((t, keys[i]))
    sla: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])  # (group, bucket) -> [met, breached]
    for channel, queue, *values in clocks:
        view = {clock: dict(zip(MARKS, values[i * len(MARKS):(i + 1) * len(MARKS)])) for i, clock in enumerate(CLOCKS)}
        for due, met in ts.verdicts(view):
            i = ts.bucket_of(starts, due, end)
            if i is not None:
                sla[(_group(by, channel, queue), i)][0 if met else 1] += 1

    names = set(timings) | {g for g, _ in sla}
    if by == "queue":
        names |= {q.name for q in hub_of(request).settings.queues}
    empty = _empty(business is not None)
    series = []
    for name in sorted(names):
        figures = rt.summarise(timings.get(name, []), business)
        points = []
        for i, key in enumerate(keys):
            point: dict[str, Any] = {"start": key}
            for kind in KINDS:
                point[kind] = figures.get(key, {}).get(kind, empty)
            point["sla"] = ts.compliance(*sla.get((name, i), (0, 0)))
            points.append(point)
        series.append({"group": name, "points": points})
    log.debug("timeseries", extra={"buckets": len(starts), "timings": len(found), "clocks": len(clocks), "by": by})
    return web.json_response({
        "bucket": bucket, "by": by, "from": first.isoformat(), "to": end.isoformat(), "unit": "seconds",
        "calendar": calendar, "timezone": str(zone), "buckets": keys, "series": series,
    })
