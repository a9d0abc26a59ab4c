"""An unresolved complaint climbs its ladder: each level's people are told once, on their
contacts, even across a worker killed and restarted; an acknowledgement stops the climb."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest

from tests.channels.sms.fake_twilio import FakeTwilio
from tests.support import PRODUCTION_SESSIONS, Hub, eventually

pytestmark = pytest.mark.integration

SID, TOKEN = "AC" + "e" * 32, "escalation-token"
LADDER = """
[[escalation]]
name = "unresolved-complaint"
when = { complaint = true }
levels = [ { after = "3s", notify = ["role:lead"] }, { after = "10s", notify = ["role:manager"] }, { after = "20s", notify = ["user:ceo"] } ]
"""


@pytest.fixture(scope="module")
async def twilio_api() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(SID, TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
async def ladder_hub(tmp_path_factory: pytest.TempPathFactory, twilio_api: FakeTwilio) -> AsyncIterator[Hub]:
    tmp = Path(tmp_path_factory.mktemp("escalation"))
    (tmp / "hub.toml").write_text(LADDER)
    env = {"HUB_CONFIG": str(tmp / "hub.toml"), "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN,
           "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_API_BASE": twilio_api.url}
    h = Hub(tmp, extra_env={**env, **PRODUCTION_SESSIONS})  # a worker is killed
    try:
        await h.start()
        h.cli("users", "add", "lena", "--role", "lead", "--password", "lena-pw", "--phone", "+989120000001")
        h.cli("users", "add", "omid", "--role", "manager", "--password", "omid-pw", "--phone", "+989120000002")
        h.cli("users", "add", "ceo", "--role", "admin", "--password", "ceo-pw", "--phone", "+989120000003")
        yield h
    finally:
        h.stop()


async def escalations(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conv_id: str) -> list[dict[str, Any]]:
    async with http.get(f"{hub.url}/api/v1/escalations?conversation_id={conv_id}", headers=auth) as r:
        assert r.status == 200, await r.text()
        return sorted((await r.json())["escalations"], key=lambda e: e["level"])


def texts_to(twilio: FakeTwilio, phone: str) -> list[str]:
    return [s["Body"] for s in twilio.sent if s["To"] == phone]


async def test_a_complaint_climbs_is_told_once_per_level_across_a_worker_kill_and_stops_at_ack(ladder_hub: Hub, twilio_api: FakeTwilio) -> None:
    hub = ladder_hub
    key = hub.cli("apikeys", "add", "shop").stdout.strip().split()[-1]
    async with aiohttp.ClientSession() as http:
        agent = await hub.login(http)
        lead = await hub.login(http, "lena", "lena-pw")
        async with http.post(f"{hub.url}/api/v1/inbound", json={"id": "c-1", "from": "u-1", "text": "the parcel came broken"}, headers={"X-Api-Key": key}) as r:
            assert r.status == 202

        async def conversation() -> Any:
            async with http.get(f"{hub.url}/api/v1/conversations", headers=agent) as r:
                return next(iter((await r.json())["conversations"]), None)

        conv = await eventually(conversation)
        async with http.get(f"{hub.url}/api/v1/escalations", headers=agent) as r:
            assert r.status == 403  # agents do not see escalations
        async with http.post(f"{hub.url}/api/v1/conversations/{conv['id']}/complaint", headers=agent, json={"reason": "broken parcel"}) as r:
            assert r.status == 202

        first = await eventually(lambda: _levels(http, hub, lead, conv["id"], 1), timeout=30)
        assert first[0]["reason"].startswith("complaint") and first[0]["notify"] == ["role:lead"]
        told = await eventually(lambda: _told(http, hub, lead, conv["id"], 1), timeout=30)
        assert [(n["user"], n["channel"], n["ok"]) for n in told[0]["notified"]] == [("lena", "sms", True)]

        # The worker dies between level 1 and level 2; level 2 is due while it is away.
        hub.kill("worker")
        await asyncio.sleep(3)
        hub.spawn("worker")
        await hub.wait_ready()
        second = await eventually(lambda: _told(http, hub, lead, conv["id"], 2), timeout=60)
        assert [(n["user"], n["channel"]) for n in second[1]["notified"]] == [("omid", "sms")]

        # The lead acknowledges: level 3 (due 20 s after the complaint) never fires.
        async with http.post(f"{hub.url}/api/v1/escalations/{second[1]['id']}/ack", headers=lead, json={}) as r:
            assert r.status == 202, await r.text()
        acked = await eventually(lambda: _acked(http, hub, lead, conv["id"]))
        assert {e["acknowledged_by"] for e in acked} == {"lena"}
        async with http.post(f"{hub.url}/api/v1/escalations/nope/ack", headers=lead, json={}) as r:
            assert r.status == 404
        await asyncio.sleep(22)
        assert [e["level"] for e in await escalations(http, hub, lead, conv["id"])] == [1, 2]
    assert len(texts_to(twilio_api, "+989120000001")) == 1 and "level 1" in texts_to(twilio_api, "+989120000001")[0]
    assert len(texts_to(twilio_api, "+989120000002")) == 1 and "level 2" in texts_to(twilio_api, "+989120000002")[0]
    assert texts_to(twilio_api, "+989120000003") == []


async def _levels(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conv_id: str, n: int) -> Any:
    found = await escalations(http, hub, auth, conv_id)
    return found if len(found) >= n else None


async def _told(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conv_id: str, n: int) -> Any:
    found = await escalations(http, hub, auth, conv_id)
    return found if len(found) >= n and found[n - 1]["notified"] else None


async def _acked(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conv_id: str) -> Any:
    found = await escalations(http, hub, auth, conv_id)
    return found if found and all(e["acknowledged_at"] for e in found) else None
