"""GET /api/v1/reports/timeseries against a read model written with a known history: hourly
percentiles and SLA compliance checked by hand, by channel and by queue, day buckets in a
calendar's time zone, bad input and roles."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest

from hub import events as ev
from tests.support import Hub, configured_hub, project

pytestmark = pytest.mark.integration

T0 = datetime(2026, 10, 5, 6, 0, tzinfo=timezone.utc)  # a Monday, 09:30 in Tehran (a working day)
CONFIG = """
[[queues]]
name = "support"
channels = ["web"]

[[queues]]
name = "sales"
channels = ["sms"]

[[queues]]
name = "idle"
channels = ["email"]
"""


def at(hhmm: str, seconds: float = 0) -> datetime:
    """A time on T0's day, "HH:MM" UTC, plus some seconds."""
    hours, minutes = map(int, hhmm.split(":"))
    return T0.replace(hour=hours, minute=minutes) + timedelta(seconds=seconds)


def clock(due: datetime, met: datetime | None = None, breached: datetime | None = None) -> dict[str, Any]:
    return {"started_at": (due - timedelta(minutes=5)).isoformat(), "due_at": due.isoformat(), "warned_at": None,
            "breached_at": breached.isoformat() if breached else None, "met_at": met.isoformat() if met else None,
            "stopped_at": None, "paused": False}


def conversation(name: str, channel: str, queue: str, opened: datetime, replies: list[tuple[float, str]],
                 resolved_after: float | None = None, sla: dict[str, Any] | None = None) -> list[ev.Event]:
    """A customer writes at `opened`; each (seconds, author) is a reply that many seconds later."""
    common = {"contact_id": f"k-{name}", "conversation_id": f"ts-{name}"}
    out: list[ev.Event] = [
        ev.ConversationOpened(at=opened, channel=channel, address=name, **common),
        ev.ConversationAssigned(at=opened, queue=queue, **common),
        ev.MessageReceived(id=f"ts-in-{name}", at=opened, channel=channel, address=name, text="help", **common),
    ]
    for i, (after, author) in enumerate(replies):
        out.append(ev.ReplyRequested(id=f"ts-out-{name}-{i}", at=opened + timedelta(seconds=after), channel=channel, address=name,
                                     text="ok", author=author, **common))
    if resolved_after is not None:
        out.append(ev.ConversationResolved(at=opened + timedelta(seconds=resolved_after), by="alice", **common))
    if sla:
        out.append(ev.SlaClocksChanged(at=opened, clocks={"policy": "p", "first_response": None, "next_response": None, "resolution": None, **sla},
                                       **common))
    return out


HISTORY = [
    # 06:00-07:00: web first responses 10, 30, 50 (support); sms 100 (sales)
    *conversation("c1", "web", "support", at("06:10"), [(10, "alice")], resolved_after=600,
                  sla={"first_response": clock(at("06:15"), met=at("06:10", 10)),
                       "resolution": clock(at("07:10"), met=at("06:20"))}),  # met early, but due in the 07:00 bucket
    *conversation("c2", "web", "support", at("06:20"), [(30, "alice")], sla={"first_response": clock(at("06:25"), met=at("06:20", 30))}),
    *conversation("c3", "web", "support", at("06:40"), [(50, "bob")],
                  sla={"first_response": clock(at("06:40", 30), met=at("06:40", 50), breached=at("06:40", 30))}),
    # answered after the deadline before the timer marked it: still a breach
    *conversation("c4", "sms", "sales", at("06:30"), [(100, "alice")], sla={"first_response": clock(at("06:31"), met=at("06:31", 40))}),
    # 07:00-08:00: web 20 (support; the automatic reply does not count), 60 (a web chat in sales)
    *conversation("c5", "web", "support", at("07:05"), [(5, "hub"), (20, "alice")], resolved_after=1200,
                  sla={"first_response": clock(at("07:06"), met=at("07:05", 20)), "resolution": clock(at("09:05"))}),
    *conversation("c6", "web", "sales", at("07:30"), [(60, "bob")], sla={"first_response": clock(at("07:31"), met=at("07:31"))}),
    # 08:00-09:00: an unanswered sms, breached; its resolution clock has no verdict yet
    *conversation("c7", "sms", "sales", at("08:15"), [],
                  sla={"first_response": clock(at("08:20"), breached=at("08:20")), "resolution": clock(at("08:50"))}),
    # opened before the range: its response time is not charted, its clock due at 06:05 is
    *conversation("c8", "web", "support", at("05:50"), [(600, "alice")], sla={"first_response": clock(at("06:05"), met=at("06:00"))}),
    # after the range: nothing of it counts
    *conversation("c9", "web", "support", at("09:10"), [(30, "alice")], sla={"first_response": clock(at("09:15"), met=at("09:10", 30))}),
]
RANGE = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=3)).isoformat(), "bucket": "hour"}


# Both databases: the SLA deadlines are read out of the JSON column in SQL, which each
# dialect spells its own way.
@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def ts_hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with configured_hub(Path(tmp_path_factory.mktemp("timeseries")), CONFIG, request.param) as h:
        await project(h.db_url, HISTORY)
        yield h


async def get(hub: Hub, http: aiohttp.ClientSession, params: dict[str, str], user: str = "maria") -> tuple[int, Any]:
    headers = await hub.login(http, user, f"{user}-pw")
    async with http.get(f"{hub.url}/api/v1/reports/timeseries", params=params, headers=headers) as r:
        return r.status, await r.json()


def by_group(body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {s["group"]: s["points"] for s in body["series"]}


async def test_hourly_percentiles_and_compliance_by_channel(ts_hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        status, body = await get(ts_hub, http, {**RANGE, "by": "channel"})
    assert status == 200, body
    assert body["buckets"] == [at("06:00").isoformat(), at("07:00").isoformat(), at("08:00").isoformat()]
    series = by_group(body)
    assert sorted(series) == ["sms", "web"]
    web, sms = series["web"], series["sms"]
    assert [p["start"] for p in web] == body["buckets"]
    # web 06:00: 10, 30, 50 -> p50 30; p90 rank 1.8 -> 46; p99 rank 1.98 -> 49.6 (c8 opened before the range)
    fr = web[0]["first_response"]
    assert (fr["count"], fr["p50"], fr["p90"], fr["p99"]) == (3, 30.0, pytest.approx(46.0), pytest.approx(49.6))
    assert (web[0]["resolution"]["count"], web[0]["resolution"]["p50"]) == (1, 600.0)
    # web 07:00: 20, 60 -> p50 40, p90 56, p99 59.6; resolution 1200
    fr = web[1]["first_response"]
    assert (fr["count"], fr["p50"], fr["p90"], fr["p99"]) == (2, 40.0, pytest.approx(56.0), pytest.approx(59.6))
    assert web[1]["resolution"]["p50"] == 1200.0
    assert web[2]["first_response"] == {"count": 0, "p50": None, "p90": None, "p99": None}
    assert (sms[0]["first_response"]["count"], sms[0]["first_response"]["p50"]) == (1, 100.0)
    assert sms[2]["first_response"]["count"] == 0  # unanswered: no figure
    # SLA by deadline: web 06:00 c1, c2, c8 met, c3 breached; 07:00 c1's resolution, c5, c6 met (c6 exactly on time)
    assert web[0]["sla"] == {"met": 3, "breached": 1, "compliance": 0.75}
    assert web[1]["sla"] == {"met": 3, "breached": 0, "compliance": 1.0}
    assert web[2]["sla"] == {"met": 0, "breached": 0, "compliance": None}
    assert sms[0]["sla"] == {"met": 0, "breached": 1, "compliance": 0.0}  # c4: replied after the deadline
    assert sms[2]["sla"] == {"met": 0, "breached": 1, "compliance": 0.0}  # c7; its running resolution clock is not counted


async def test_by_queue_lists_configured_queues(ts_hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        status, body = await get(ts_hub, http, {**RANGE, "by": "queue"})
    assert status == 200, body
    series = by_group(body)
    assert sorted(series) == ["idle", "sales", "support"]
    support, sales, idle = series["support"], series["sales"], series["idle"]
    assert [p["first_response"]["count"] for p in support] == [3, 1, 0]
    assert [p["first_response"]["p50"] for p in sales] == [100.0, 60.0, None]  # the web chat c6 is in sales
    assert [p["sla"]["compliance"] for p in support] == [0.75, 1.0, None]
    assert [(p["sla"]["met"], p["sla"]["breached"]) for p in sales] == [(0, 1), (1, 0), (0, 1)]
    assert all(p["first_response"]["count"] == 0 and p["sla"]["compliance"] is None for p in idle)


async def test_day_buckets_follow_the_calendar_time_zone(ts_hub: Hub) -> None:
    params = {"from": "2026-10-05T00:00:00+03:30", "to": "2026-10-07T00:00:00+03:30", "bucket": "day", "calendar": "tehran"}
    async with aiohttp.ClientSession() as http:
        status, body = await get(ts_hub, http, params)
    assert status == 200, body
    assert body["buckets"] == ["2026-10-04T20:30:00+00:00", "2026-10-05T20:30:00+00:00"]  # Tehran midnights
    assert (body["calendar"], body["timezone"]) == ("tehran", "Asia/Tehran")
    fr = by_group(body)["web"][0]["first_response"]
    # every web first response of the day: 600 (c8), 10, 30, 50, 20, 60, 30 (c9); all in Tehran's office hours
    assert fr["count"] == 7 and fr["p50"] == 30.0 and fr["business_p50"] == fr["p50"]


async def test_bad_input_and_roles(ts_hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{ts_hub.url}/api/v1/reports/timeseries") as r:
            assert r.status == 401
        status, _ = await get(ts_hub, http, RANGE, user="alice")
        assert status == 403
        cases = [
            ({**RANGE, "bucket": "week"}, "invalid", "`bucket`"),
            ({**RANGE, "by": "agent"}, "invalid", "`by`"),
            ({**RANGE, "from": "last tuesday"}, "invalid", "ISO 8601"),
            ({**RANGE, "from": RANGE["to"]}, "invalid", "before"),
            ({"from": T0.isoformat(), "to": (T0 + timedelta(days=30)).isoformat(), "bucket": "hour"}, "too_many_buckets", "at most 400"),
            ({"from": T0.isoformat(), "to": (T0 + timedelta(days=500)).isoformat(), "bucket": "day"}, "too_many_buckets", "400"),
            ({**RANGE, "calendar": "mars"}, "invalid", "mars"),
        ]
        for params, code, words in cases:
            status, body = await get(ts_hub, http, params)
            assert status == 400, (params, body)
            assert body["error"]["code"] == code and words in body["error"]["message"], (params, body)
        # 400 hours is allowed: the cap, not one below it
        status, body = await get(ts_hub, http, {"from": T0.isoformat(), "to": (T0 + timedelta(hours=400)).isoformat(), "bucket": "hour"})
        assert status == 200 and len(body["buckets"]) == 400
