"""Business seconds for many (start, end) pairs against one calendar: the response-time
report asks for one per timing, ~10,000 with 10,000 conversations in a month.

calendar.business_seconds works out each local day's opening hours in UTC afresh (a
zoneinfo conversion per interval end, for every day a span touches); that came to ~100 ms
of the report's server time with calendar=tehran (bench/pages.py). BusinessClock keeps
each day's intervals once converted and then walks exactly as open_intervals and
business_seconds do, clipping and adding in the same order, so the answers are equal to
the float, not only close (tests/hub/domain/test_business_clock.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.domain import calendar as cal

_ONE_DAY = timedelta(days=1)


class BusinessClock:
    """cal.business_seconds(calendar, a, b) with a memory of each day's intervals; one per
    request (a calendar's holidays and hours do not change under it)."""

    def __init__(self, calendar: cal.Calendar) -> None:
        self.calendar = calendar
        self._zone: ZoneInfo | None = None if calendar.always else calendar.zone
        self._days: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    def _day(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        found = self._days.get(day)
        if found is None:
            c, zone = self.calendar, self._zone
            assert zone is not None
            found = () if day in c.holidays else tuple(
                (cal._local(day, begin, zone), cal._local(day, end, zone)) for begin, end in c.hours.get(day.weekday(), ()))
            self._days[day] = found
        return found

    def seconds(self, a: datetime, b: datetime) -> float:
        a, b = cal._utc(a), cal._utc(b)
        if b <= a:
            return 0.0
        if self._zone is None:
            return (b - a).total_seconds()
        # open_intervals(calendar, a, days) inlined: from yesterday (its night may still
        # run), each interval clipped to what is already covered.
        day = a.astimezone(self._zone).date() - _ONE_DAY
        covered = a
        total = 0.0
        for _ in range((b - a).days + 3):
            for begin, end in self._day(day):
                start = max(begin, covered)
                if end > start:
                    if start >= b:
                        return total
                    total += (min(end, b) - start).total_seconds()
                    covered = end
            day += _ONE_DAY
        return total
