"""BusinessClock (the report's per-request clock) gives calendar.business_seconds's answers
exactly, equal floats, over random spans: minutes to weeks, across overnight intervals,
overlapping and unordered intervals, holidays, a daylight-saving change and 24x7."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from hub.domain import calendar as cal
from hub.domain.business_clock import BusinessClock

CALENDARS = {
    "tehran": cal.BUILTIN["tehran"],
    "24x7": cal.BUILTIN["24x7"],
    "night-and-holidays": cal.parse_calendar("n", {"hours": {"mon": ["22:00-06:00"], "tue": ["00:00-08:00", "09:00-12:00"], "fri": ["13:00-24:00"]},
                                                   "holidays": ["2026-11-23", "2026-12-04"]}),
    # the clocks go back in London on 2026-10-25: a 25-hour Sunday
    "london-dst-overlaps": cal.parse_calendar("l", {"timezone": "Europe/London",
                                                    "hours": {"sat": ["08:00-12:00", "20:00-03:00"], "sun": ["00:00-09:00", "13:00-17:00"],
                                                              "mon": ["01:30-02:30", "09:00-17:00"]}}),
    # built directly, as the parser would refuse it: unordered, overlapping intervals, which
    # open_intervals clips in order
    "unordered": cal.Calendar("u", "Asia/Tehran", {d: ((600, 700), (500, 800), (1300, 1700)) for d in range(6)}),
}


@pytest.mark.parametrize("name", sorted(CALENDARS))
def test_the_clock_agrees_with_business_seconds(name: str) -> None:
    calendar = CALENDARS[name]
    clock = BusinessClock(calendar)
    rng = random.Random(name)
    base = datetime(2026, 10, 15, tzinfo=timezone.utc)
    checked = nonzero = 0
    for _ in range(3000):
        a = base + timedelta(seconds=rng.uniform(0, 60 * 86400), microseconds=rng.randrange(10**6))
        span = rng.choice((rng.uniform(0, 600), rng.uniform(0, 86400), rng.uniform(0, 20 * 86400), -rng.uniform(0, 3600)))
        b = (a + timedelta(seconds=span)).astimezone(rng.choice((timezone.utc, timezone(timedelta(hours=3, minutes=30)))))
        expected = cal.business_seconds(calendar, a, b)
        assert clock.seconds(a, b) == expected, (a, b)
        checked += 1
        nonzero += expected > 0
    assert checked == 3000 and nonzero > 1000  # the spans met open hours, not only closed ones


def test_naive_times_are_refused_as_business_seconds_does() -> None:
    with pytest.raises(ValueError):
        BusinessClock(CALENDARS["tehran"]).seconds(datetime(2026, 11, 1), datetime(2026, 11, 2, tzinfo=timezone.utc))
