"""GET /api/v1/reports/response-times against a read model with hand-computed figures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import aiohttp
import pytest

from hub import events as ev
from tests.support import Hub, project

pytestmark = pytest.mark.integration

T0 = datetime(2026, 10, 5, 6, 0, tzinfo=timezone.utc)


def conversation(n: int, channel: str, replies: list[tuple[float, str]], resolved_after: float | None = None) -> list[ev.Event]:
    """A customer writes at T0 + n hours; each (seconds, author) is a reply that many seconds later."""
    start = T0 + timedelta(hours=n)
    common = {"contact_id": f"k{n}", "conversation_id": f"report-c{n}"}
    out: list[ev.Event] = [
        ev.ConversationOpened(at=start, channel=channel, address=f"a{n}", **common),
        ev.MessageReceived(id=f"report-in{n}", at=start, channel=channel, address=f"a{n}", text="help", **common),
    ]
    for i, (after, author) in enumerate(replies):
        out.append(ev.ReplyRequested(id=f"report-out{n}-{i}", at=start + timedelta(seconds=after), channel=channel, address=f"a{n}", text="ok", author=author, **common))
    if resolved_after is not None:
        out.append(ev.ConversationResolved(at=start + timedelta(seconds=resolved_after), by="alice", **common))
    return out


async def test_percentiles_match_a_hand_computed_set(hub: Hub) -> None:
    events = [
        *conversation(0, "web", [(10, "alice")], resolved_after=600),
        *conversation(1, "web", [(5, "hub"), (20, "alice")], resolved_after=1200),  # the automatic reply does not count
        *conversation(2, "web", [(30, "bob")]),
        *conversation(3, "web", [(40, "bob")]),
        *conversation(4, "sms", [(100, "alice")]),
        *conversation(5, "sms", []),  # unanswered: no figure
    ]
    await project(hub.db_url, events)
    window = {"from": (T0 - timedelta(minutes=1)).isoformat(), "to": (T0 + timedelta(hours=6)).isoformat()}
    async with aiohttp.ClientSession() as http:
        agent = await hub.login(http)
        manager = await hub.login(http, "maria", "maria-pw")
        async with http.get(f"{hub.url}/api/v1/reports/response-times", params=window, headers=agent) as r:
            assert r.status == 403
        async with http.get(f"{hub.url}/api/v1/reports/response-times", params={**window, "by": "channel"}, headers=manager) as r:
            assert r.status == 200, await r.text()
            by_channel = (await r.json())["groups"]
        async with http.get(f"{hub.url}/api/v1/reports/response-times", params={**window, "by": "agent"}, headers=manager) as r:
            by_agent = (await r.json())["groups"]
        async with http.get(f"{hub.url}/api/v1/reports/response-times", params={**window, "by": "mood"}, headers=manager) as r:
            assert r.status == 400
        async with http.get(f"{hub.url}/api/v1/reports/response-times", params={"from": "yesterday"}, headers=manager) as r:
            assert r.status == 400 and "ISO 8601" in (await r.json())["error"]["message"]
    web = by_channel["web"]["first_response"]
    # web first responses 10, 20, 30, 40: p50 rank 1.5 -> 25; p90 rank 2.7 -> 37; p99 rank 2.97 -> 39.7
    assert (web["count"], web["p50"], web["p90"], web["p99"]) == (4, 25.0, pytest.approx(37.0), pytest.approx(39.7))
    assert by_channel["sms"]["first_response"]["count"] == 1 and by_channel["sms"]["first_response"]["p50"] == 100.0
    # resolution 600 and 1200: p50 900, p90 rank 0.9 -> 1140
    assert (by_channel["web"]["resolution"]["p50"], by_channel["web"]["resolution"]["p90"]) == (900.0, pytest.approx(1140.0))
    alice = by_agent["alice"]["first_response"]  # 10, 20, 100
    assert (alice["count"], alice["p50"], alice["p99"]) == (3, 20.0, pytest.approx(98.4))
    assert by_agent["bob"]["first_response"]["p50"] == 35.0
    assert "hub" not in by_agent


async def test_business_time_in_the_tehran_calendar(hub: Hub) -> None:
    """Written Thursday 12:00 in Tehran, answered Saturday 09:00: 45 hours of wall time, 2 of
    business time (Thursday 12-13, the half day's last hour; Friday off; Saturday 08-09)."""
    from zoneinfo import ZoneInfo

    tehran = ZoneInfo("Asia/Tehran")
    start = datetime(2026, 11, 26, 12, 0, tzinfo=tehran)
    common = {"contact_id": "k-biz", "conversation_id": "report-biz"}
    events = [
        ev.ConversationOpened(at=start, channel="telegram", address="t1", **common),
        ev.MessageReceived(id="report-biz-in", at=start, channel="telegram", address="t1", text="salam", **common),
        ev.ReplyRequested(id="report-biz-out", at=datetime(2026, 11, 28, 9, 0, tzinfo=tehran), channel="telegram", address="t1", text="ok",
                          author="alice", **common),
    ]
    await project(hub.db_url, events)
    window = {"from": "2026-11-25T00:00:00+00:00", "to": "2026-11-30T00:00:00+00:00", "by": "channel"}
    async with aiohttp.ClientSession() as http:
        manager = await hub.login(http, "maria", "maria-pw")
        async with http.get(f"{hub.url}/api/v1/reports/response-times", params={**window, "calendar": "tehran"}, headers=manager) as r:
            assert r.status == 200, await r.text()
            body = await r.json()
        async with http.get(f"{hub.url}/api/v1/reports/response-times", params=window, headers=manager) as r:
            always = (await r.json())["groups"]["telegram"]["first_response"]
        async with http.get(f"{hub.url}/api/v1/reports/response-times", params={**window, "calendar": "mars"}, headers=manager) as r:
            assert r.status == 400 and "mars" in (await r.json())["error"]["message"]
    figures = body["groups"]["telegram"]["first_response"]
    assert body["calendar"] == "tehran"
    assert (figures["count"], figures["p50"], figures["business_p50"]) == (1, 45 * 3600.0, 2 * 3600.0)
    assert always["business_p50"] == always["p50"] == 45 * 3600.0  # the default calendar is 24x7
