"""Business calendars: when the clock of an SLA counts. Pure functions, no I/O.

A calendar has a timezone, opening intervals per weekday (several a day; an interval whose
end is not after its start runs overnight into the next day, "22:00-06:00"; "24:00" ends at
midnight) and holidays by local date. An interval belongs to the day it starts on, so a
holiday closes the intervals that start on it, including the night that runs out of it.
Times in and out are aware datetimes; the results are UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.config import ConfigError

# The keys of `hours`, and Python's weekday() number for each (Monday is 0).
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_DAY = 24 * 60
# How far ahead a deadline may be looked for: a calendar open a few hours a year still works.
_HORIZON_DAYS = 3 * 366

Interval = tuple[int, int]  # minutes after local midnight; end > start, at most start + 24h


@dataclass(frozen=True)
class Calendar:
    name: str
    timezone: str = "UTC"
    hours: Mapping[int, tuple[Interval, ...]] = field(default_factory=dict)  # weekday -> intervals
    holidays: frozenset[date] = frozenset()
    always: bool = False  # open every second: no arithmetic on days needed

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _full_week(minutes: tuple[Interval, ...]) -> dict[int, tuple[Interval, ...]]:
    return {day: minutes for day in range(7)}


_TEHRAN_DAY = ((8 * 60, 17 * 60),)
BUILTIN: dict[str, Calendar] = {
    "24x7": Calendar("24x7", "UTC", _full_week(((0, _DAY),)), always=True),
    # Saturday to Wednesday full days, Thursday half day, Friday off.
    "tehran": Calendar(
        "tehran",
        "Asia/Tehran",
        {5: _TEHRAN_DAY, 6: _TEHRAN_DAY, 0: _TEHRAN_DAY, 1: _TEHRAN_DAY, 2: _TEHRAN_DAY, 3: ((8 * 60, 13 * 60),)},
    ),
}


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"a naive time has no place in business arithmetic: {value!r}")
    return value.astimezone(timezone.utc)


def _local(day: date, minute: int, zone: ZoneInfo) -> datetime:
    moment = datetime.combine(day, time()) + timedelta(minutes=minute)
    return moment.replace(tzinfo=zone).astimezone(timezone.utc)


def open_intervals(cal: Calendar, start: datetime, days: int = _HORIZON_DAYS) -> Iterator[tuple[datetime, datetime]]:
    """The calendar's open intervals in UTC, in order and without overlap, from the one
    that contains (or first follows) `start`, for at most `days` local days."""
    start = _utc(start)
    zone = cal.zone
    day = start.astimezone(zone).date() - timedelta(days=1)  # yesterday's overnight may still run
    covered = start
    for _ in range(days + 1):
        if day not in cal.holidays:
            for begin, end in cal.hours.get(day.weekday(), ()):
                a, b = max(_local(day, begin, zone), covered), _local(day, end, zone)
                if b > a:
                    yield a, b
                    covered = b
        day += timedelta(days=1)


def business_seconds(cal: Calendar, a: datetime, b: datetime) -> float:
    """Open time of the calendar between a and b, in seconds (0 when b is not after a)."""
    a, b = _utc(a), _utc(b)
    if b <= a:
        return 0.0
    if cal.always:
        return (b - a).total_seconds()
    days = (b - a).days + 2
    total = 0.0
    for begin, end in open_intervals(cal, a, days):
        if begin >= b:
            break
        total += (min(end, b) - begin).total_seconds()
    return total


def add_business(cal: Calendar, start: datetime, seconds: float) -> datetime:
    """The moment `seconds` of open time after `start`: an SLA's deadline. Zero seconds is
    `start` itself, even outside opening hours."""
    start = _utc(start)
    if seconds <= 0:
        return start
    if cal.always:
        return start + timedelta(seconds=seconds)
    left = timedelta(seconds=seconds)
    for begin, end in open_intervals(cal, start):
        if end - begin >= left:
            return begin + left
        left -= end - begin
    raise ValueError(f"calendar {cal.name!r} has no {seconds:.0f} s of open time within {_HORIZON_DAYS} days of {start.isoformat()}")


def _interval(text: Any, where: str) -> Interval:
    match = _INTERVAL.match(text) if isinstance(text, str) else None
    if not match:
        raise ConfigError(f"{where} must be \"HH:MM-HH:MM\", like \"08:00-17:00\" or \"22:00-06:00\", not {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ConfigError(f"{where}: {text!r} is not a time of day")
    begin, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= begin:  # runs overnight into the next day
        end += _DAY
    return begin, end


def _holiday(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where} must be a date like \"2026-03-20\", not {value!r}") from exc


def parse_calendar(name: str, item: Any) -> Calendar:
    where = f"calendars.{name}"
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where} must be a table with timezone, hours and holidays")
    unknown = set(item) - {"timezone", "hours", "holidays"}
    if unknown:
        raise ConfigError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    tz = item.get("timezone", "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ConfigError(f"{where}.timezone: no timezone named {tz!r}") from exc
    hours_raw = item.get("hours")
    if not isinstance(hours_raw, Mapping) or not hours_raw:
        raise ConfigError(f"{where}.hours must name weekdays (sat, sun, mon, tue, wed, thu, fri) with [\"HH:MM-HH:MM\", ...]")
    hours: dict[int, tuple[Interval, ...]] = {}
    for key, spans in hours_raw.items():
        if key not in WEEKDAYS:
            raise ConfigError(f"{where}.hours.{key}: not a weekday (use sat, sun, mon, tue, wed, thu, fri)")
        if not isinstance(spans, list):
            raise ConfigError(f"{where}.hours.{key} must be a list like [\"08:00-12:00\", \"13:00-17:00\"]")
        parsed = sorted(_interval(s, f"{where}.hours.{key}[{i}]") for i, s in enumerate(spans))
        for (_, end), (begin, _) in zip(parsed, parsed[1:]):
            if begin < end:
                raise ConfigError(f"{where}.hours.{key}: intervals overlap")
        if parsed:
            hours[WEEKDAYS[key]] = tuple(parsed)
    if not hours:
        raise ConfigError(f"{where}.hours: the calendar is never open")
    holidays_raw = item.get("holidays", [])
    if not isinstance(holidays_raw, list):
        raise ConfigError(f"{where}.holidays must be a list of dates")
    holidays = frozenset(_holiday(h, f"{where}.holidays[{i}]") for i, h in enumerate(holidays_raw))
    return Calendar(name, tz, hours, holidays)


def parse_calendars(raw: Mapping[str, Any]) -> dict[str, Calendar]:
    """The built-in calendars, then `[calendars.NAME]` of HUB_CONFIG (which may redefine
    "tehran", say with this year's holidays); a mistake names the key."""
    section = raw.get("calendars") or {}
    if not isinstance(section, Mapping):
        raise ConfigError("calendars must be tables: [calendars.NAME]")
    out = dict(BUILTIN)
    for name, item in section.items():
        out[name] = parse_calendar(name, item)
    return out
