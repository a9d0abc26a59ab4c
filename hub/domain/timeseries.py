"""Response times and SLA compliance over time: pure functions behind
GET /api/v1/reports/timeseries.

Buckets are whole hours or days of a time zone (a calendar's, else UTC), so a day in
Tehran starts at its midnight, not at UTC's. A response-time figure belongs to the bucket in
which its clock started (the customer's first message; for resolution the conversation's
opening), like the response-times report. An SLA clock belongs to the bucket of its
deadline (`due_at`): the bucket shows whether the promises that fell due in it were kept."""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from hub.domain.sla import CLOCKS

BUCKETS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BUCKETS = 400


class TooManyBuckets(ValueError):
    pass


def grid(start: datetime, end: datetime, bucket: str, zone: ZoneInfo | timezone = timezone.utc) -> list[datetime]:
    """Bucket starts (UTC) covering [start, end): the first is `start` floored to the hour or
    local midnight. Days step in local dates, so a daylight-saving change keeps midnights."""
    local = start.astimezone(zone)
    if bucket == "hour":
        first = local.replace(minute=0, second=0, microsecond=0).astimezone(timezone.utc)
        count = -(-(end - first) // BUCKETS["hour"])  # ceiling division
        if count > MAX_BUCKETS:
            raise TooManyBuckets(f"{count} buckets of an hour; at most {MAX_BUCKETS} (use bucket=day or a shorter range)")
        return [first + i * BUCKETS["hour"] for i in range(count)]
    day = local.date()
    starts: list[datetime] = []
    while True:
        at = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(timezone.utc)
        if at >= end:
            break
        starts.append(at)
        if len(starts) > MAX_BUCKETS:
            raise TooManyBuckets(f"more than {MAX_BUCKETS} buckets of a day; use a shorter range")
        day += timedelta(days=1)
    return starts


def bucket_of(starts: list[datetime], at: datetime, end: datetime) -> int | None:
    """Index of the bucket holding `at`, or None outside [starts[0], end)."""
    if not starts or at < starts[0] or at >= end:
        return None
    return bisect.bisect_right(starts, at) - 1


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def verdicts(sla: Mapping[str, Any] | None) -> Iterable[tuple[datetime, bool]]:
    """(due_at, met) for each clock of a conversation's `sla` view that is decided: met
    without a breach, or breached (a reply after the deadline counts as a breach even if the
    timer had not marked it yet). A clock still running, paused, or stopped without a verdict
    (resolved before anyone replied) has kept or broken no promise yet and is left out."""
    for name in CLOCKS:
        clock = (sla or {}).get(name)
        if not isinstance(clock, dict):
            continue
        due = _time(clock.get("due_at"))
        if due is None:
            continue
        met, breached = _time(clock.get("met_at")), _time(clock.get("breached_at"))
        if breached is not None or (met is not None and met > due):
            yield due, False
        elif met is not None:
            yield due, True


def compliance(met: int, breached: int) -> dict[str, Any]:
    decided = met + breached
    return {"met": met, "breached": breached, "compliance": round(met / decided, 4) if decided else None}
