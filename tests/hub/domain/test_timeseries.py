"""Buckets and SLA verdicts behind the manager's charts over time."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from hub.domain import timeseries as ts

UTC = timezone.utc


def test_hours_start_on_the_hour_and_cover_the_end() -> None:
    starts = ts.grid(datetime(2026, 3, 1, 6, 40, tzinfo=UTC), datetime(2026, 3, 1, 9, 5, tzinfo=UTC), "hour")
    assert [s.hour for s in starts] == [6, 7, 8, 9]
    assert ts.bucket_of(starts, datetime(2026, 3, 1, 6, 10, tzinfo=UTC), datetime(2026, 3, 1, 9, 5, tzinfo=UTC)) == 0
    assert ts.bucket_of(starts, datetime(2026, 3, 1, 8, 59, 59, tzinfo=UTC), datetime(2026, 3, 1, 9, 5, tzinfo=UTC)) == 2
    assert ts.bucket_of(starts, datetime(2026, 3, 1, 9, 5, tzinfo=UTC), datetime(2026, 3, 1, 9, 5, tzinfo=UTC)) is None  # `to` is open
    assert ts.bucket_of(starts, datetime(2026, 3, 1, 5, 59, tzinfo=UTC), datetime(2026, 3, 1, 9, 5, tzinfo=UTC)) is None


def test_days_follow_local_midnights_across_a_clock_change() -> None:
    """Berlin moves its clocks on 29 March 2026: that day has 23 hours; buckets stay at midnight."""
    berlin = ZoneInfo("Europe/Berlin")
    starts = ts.grid(datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC), "day", berlin)
    assert [s.astimezone(berlin).strftime("%d %H:%M") for s in starts] == ["28 00:00", "29 00:00", "30 00:00", "31 00:00"]
    assert (starts[2] - starts[1]).total_seconds() == 23 * 3600
    tehran = ts.grid(datetime(2026, 10, 5, 6, tzinfo=UTC), datetime(2026, 10, 6, tzinfo=UTC), "day", ZoneInfo("Asia/Tehran"))
    assert [s.isoformat() for s in tehran] == ["2026-10-04T20:30:00+00:00", "2026-10-05T20:30:00+00:00"]


def test_the_bucket_cap() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert len(ts.grid(start, start.replace(month=1, day=17, hour=16), "hour")) == 400
    with pytest.raises(ts.TooManyBuckets, match="401 buckets"):
        ts.grid(start, start.replace(month=1, day=17, hour=17), "hour")
    with pytest.raises(ts.TooManyBuckets):
        ts.grid(start, start.replace(year=2028), "day")


def test_only_decided_clocks_have_a_verdict() -> None:
    due = "2026-03-01T10:00:00+00:00"
    sla = {
        "policy": "p",
        "first_response": {"due_at": due, "met_at": "2026-03-01T09:59:00+00:00", "breached_at": None},  # kept
        "next_response": {"due_at": due, "met_at": "2026-03-01T10:00:01+00:00", "breached_at": None},  # late, not yet marked
        "resolution": {"due_at": due, "met_at": None, "breached_at": due},
    }
    assert [met for _, met in ts.verdicts(sla)] == [True, False, False]
    running = {"first_response": {"due_at": due, "met_at": None, "breached_at": None}, "resolution": None}
    assert list(ts.verdicts(running)) == []
    assert list(ts.verdicts({})) == [] and list(ts.verdicts(None)) == []
    on_time = {"first_response": {"due_at": due, "met_at": due, "breached_at": None}}
    assert list(ts.verdicts(on_time)) == [(datetime(2026, 3, 1, 10, tzinfo=UTC), True)]


def test_compliance_share() -> None:
    assert ts.compliance(3, 1) == {"met": 3, "breached": 1, "compliance": 0.75}
    assert ts.compliance(0, 0)["compliance"] is None
