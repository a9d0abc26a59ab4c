"""Business calendars: open time between two moments and deadlines, checked by hand.

Dates: 2026-11-21 is a Saturday; 2026-11-26 a Thursday, 11-27 a Friday, 11-28 a Saturday."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hub import config
from hub.config import ConfigError
from hub.domain import calendar as cal

TEHRAN = ZoneInfo("Asia/Tehran")
H = 3600.0


def teh(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TEHRAN)


def test_the_builtin_week_in_tehran() -> None:
    t = cal.BUILTIN["tehran"]
    assert cal.business_seconds(t, teh(21, 0), teh(22, 0)) == 9 * H  # Saturday: full day
    assert cal.business_seconds(t, teh(26, 0), teh(27, 0)) == 5 * H  # Thursday: half day
    assert cal.business_seconds(t, teh(27, 0), teh(28, 0)) == 0  # Friday: off
    assert cal.business_seconds(t, teh(21, 0), teh(28, 0)) == 5 * 9 * H + 5 * H  # one week


def test_interval_boundaries_count_exactly() -> None:
    t = cal.BUILTIN["tehran"]
    assert cal.business_seconds(t, teh(22, 7, 59), teh(22, 8, 0)) == 0
    assert cal.business_seconds(t, teh(22, 8, 0), teh(22, 8, 1)) == 60
    assert cal.business_seconds(t, teh(22, 16, 59), teh(22, 17, 30)) == 60
    # a deadline that uses up the day's last second lands on the close, not on the next opening
    assert cal.add_business(t, teh(22, 8), 9 * H) == teh(22, 17)
    assert cal.add_business(t, teh(22, 8), 9 * H + 1) == teh(23, 8) + timedelta(seconds=1)
    # started before opening: counts from the opening
    assert cal.add_business(t, teh(22, 6), 30 * 60) == teh(22, 8, 30)
    # started after closing: the next morning
    assert cal.add_business(t, teh(22, 20), 60) == teh(23, 8, 1)


def test_thursday_half_day_and_a_deadline_across_the_weekend() -> None:
    t = cal.BUILTIN["tehran"]
    # Thursday 12:00 + 2 business hours: 1 h until 13:00, Friday off, 1 h from Saturday 08:00
    assert cal.add_business(t, teh(26, 12), 2 * H) == teh(28, 9)
    assert cal.business_seconds(t, teh(26, 12), teh(28, 9)) == 2 * H
    # Wednesday 16:00 + 4 h: 1 h Wednesday, Thursday's 5 h are enough (3 h in: 11:00)
    assert cal.add_business(t, teh(25, 16), 4 * H) == teh(26, 11)
    # the result is UTC (Tehran is +03:30)
    assert cal.add_business(t, teh(26, 12), 2 * H).utcoffset() == timedelta(0)
    assert cal.add_business(t, teh(26, 12), 2 * H) == datetime(2026, 11, 28, 5, 30, tzinfo=timezone.utc)


def overnight() -> cal.Calendar:
    return cal.parse_calendar("night", {"timezone": "UTC", "hours": {"mon": ["22:00-06:00"], "tue": ["09:00-12:00", "13:00-17:00"]}})


def test_overnight_and_several_intervals_a_day() -> None:
    night = overnight()
    mon = datetime(2026, 11, 23, tzinfo=timezone.utc)  # a Monday
    # Monday 22:00 to Tuesday 06:00 belongs to Monday: 8 h; Tuesday 09-12 and 13-17: 7 h
    assert cal.business_seconds(night, mon, mon + timedelta(days=2)) == 15 * H
    # from Tuesday 03:00 (inside Monday's night): 3 h of night, then 09:00
    assert cal.add_business(night, mon + timedelta(days=1, hours=3), 4 * H) == mon + timedelta(days=1, hours=10)
    # the lunch gap does not count
    assert cal.business_seconds(night, mon + timedelta(days=1, hours=11), mon + timedelta(days=1, hours=14)) == 2 * H
    assert cal.add_business(night, mon + timedelta(days=1, hours=11, minutes=30), H) == mon + timedelta(days=1, hours=13, minutes=30)
    # the next opening after Tuesday 17:00 is next Monday 22:00
    assert cal.add_business(night, mon + timedelta(days=1, hours=17), 60) == mon + timedelta(days=7, hours=22, minutes=1)


def test_holidays_close_their_day_and_the_night_that_starts_on_it() -> None:
    t = cal.parse_calendar("t", {"timezone": "Asia/Tehran", "hours": {"sat": ["08:00-17:00"], "sun": ["08:00-17:00"]}, "holidays": ["2026-11-21"]})
    assert cal.business_seconds(t, teh(21, 0), teh(22, 0)) == 0
    assert cal.add_business(t, teh(21, 9), H) == teh(22, 9)
    night = cal.parse_calendar("n", {"hours": {"mon": ["22:00-06:00"]}, "holidays": ["2026-11-23"]})
    mon = datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert cal.business_seconds(night, mon, mon + timedelta(days=2)) == 0
    assert cal.business_seconds(night, mon + timedelta(days=7), mon + timedelta(days=9)) == 8 * H


def test_always_open_and_zero_durations() -> None:
    always = cal.BUILTIN["24x7"]
    start = teh(27, 23, 59)  # a Friday night: no matter
    assert cal.add_business(always, start, 5) == start + timedelta(seconds=5)
    assert cal.business_seconds(always, start, start + timedelta(days=2)) == 2 * 86400
    assert cal.business_seconds(always, start, start - timedelta(hours=1)) == 0
    assert cal.add_business(cal.BUILTIN["tehran"], teh(27, 10), 0) == teh(27, 10)


def test_business_seconds_and_add_business_agree() -> None:
    t = cal.BUILTIN["tehran"]
    start = teh(24, 15, 17)
    for seconds in (1, 59, 3 * H, 9 * H, 25 * H, 80 * H):
        assert cal.business_seconds(t, start, cal.add_business(t, start, seconds)) == pytest.approx(seconds)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        cal.add_business(cal.BUILTIN["tehran"], datetime(2026, 11, 22, 9), 60)


@pytest.mark.parametrize(
    "item,named",
    [
        ({"hours": {"mon": ["8-17"]}}, "calendars.x.hours.mon[0]"),
        ({"hours": {"mon": ["08:00-25:00"]}}, "calendars.x.hours.mon[0]"),
        ({"hours": {"moonday": ["08:00-17:00"]}}, "calendars.x.hours.moonday"),
        ({"hours": {"mon": ["08:00-12:00", "11:00-17:00"]}}, "calendars.x.hours.mon"),
        ({"hours": {}}, "calendars.x.hours"),
        ({"hours": {"mon": []}}, "calendars.x.hours"),
        ({"timezone": "Mars/Olympus", "hours": {"mon": ["08:00-17:00"]}}, "calendars.x.timezone"),
        ({"hours": {"mon": ["08:00-17:00"]}, "holidays": ["someday"]}, "calendars.x.holidays[0]"),
        ({"hours": {"mon": ["08:00-17:00"]}, "weekend": []}, "calendars.x"),
    ],
)
def test_a_bad_calendar_names_its_key(item: dict, named: str) -> None:
    with pytest.raises(ConfigError) as info:
        cal.parse_calendars({"calendars": {"x": item}})
    assert named in str(info.value)


def test_calendars_come_from_hub_config_with_the_builtins(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "hub.toml").write_text(
        '[calendars.shop]\ntimezone = "Asia/Tehran"\nhours = { sat = ["09:00-13:00", "16:00-20:00"] }\nholidays = [2026-11-28, "2026-12-05"]\n'
    )
    s = config.load({"HUB_VAR_DIR": str(tmp_path / "var"), "HUB_CONFIG": str(tmp_path / "hub.toml")})
    assert {"24x7", "tehran", "shop"} <= set(s.calendars)
    shop = s.calendars["shop"]
    assert cal.business_seconds(shop, teh(21, 0), teh(22, 0)) == 8 * H
    assert cal.business_seconds(shop, teh(28, 0), teh(29, 0)) == 0  # a TOML date is a holiday too
    (tmp_path / "bad.toml").write_text('[calendars.shop]\nhours = { sat = ["09:00"] }\n')
    with pytest.raises(ConfigError, match=r"calendars\.shop\.hours\.sat\[0\]"):
        config.load({"HUB_VAR_DIR": str(tmp_path / "var"), "HUB_CONFIG": str(tmp_path / "bad.toml")})
