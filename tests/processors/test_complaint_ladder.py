"""Issue 6, item 3: a Persian complaint nobody resolves climbs its ladder. The team lead is
told by email (at a real aiosmtpd server) and on Telegram (at the fake Bot API), then the
manager; each person once per level, although the worker is SIGKILLed between the levels;
an acknowledgement stops the climb."""

from __future__ import annotations

import asyncio
import email
import email.policy
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest
from aiosmtpd.controller import Controller

from hub.broker import free_port
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.support import PRODUCTION_SESSIONS, Hub, eventually

pytestmark = pytest.mark.integration

BOT_TOKEN = "333333:ladder-bot-token"
LADDER = """
[[escalation]]
name = "unresolved-complaint"
when = { complaint = true }
levels = [ { after = "2s", notify = ["role:lead"] }, { after = "8s", notify = ["role:manager"] }, { after = "25s", notify = ["user:ceo"] } ]
"""
# Arabic yeh and kaf, and Persian digits: the detector must normalise before it matches.
COMPLAINT = "سفارش ۴۵۶۷۸ هنوز نرسیده. از پشتيباني شما شكايت دارم"


class Inbox:
    """What the SMTP server received, one parsed message per recipient."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for rcpt in envelope.rcpt_tos:
            self.mails.append((rcpt, parsed))
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        return [m for rcpt, m in self.mails if rcpt == address]


@pytest.fixture(scope="module")
async def bot_api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi(BOT_TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
def inbox() -> Any:
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture(scope="module")
async def ladder_hub(tmp_path_factory: pytest.TempPathFactory, bot_api: FakeBotApi, inbox: Any) -> AsyncIterator[Hub]:
    tmp = Path(tmp_path_factory.mktemp("complaint-ladder"))
    (tmp / "hub.toml").write_text(LADDER)
    env = {
        "HUB_CONFIG": str(tmp / "hub.toml"),
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": "ladder-secret",
        "TELEGRAM_API_BASE": bot_api.url,
        "HUB_SMTP_URL": f"smtp://127.0.0.1:{inbox[1]}", "HUB_EMAIL_FROM": "Support <support@shop.example>",
    }
    h = Hub(tmp, extra_env={**env, **PRODUCTION_SESSIONS})  # a worker is killed
    try:
        await h.start()
        h.cli("users", "add", "lena", "--role", "lead", "--password", "lena-pw", "--email", "lena@shop.example", "--telegram", "7001")
        h.cli("users", "add", "omid", "--role", "manager", "--password", "omid-pw", "--email", "omid@shop.example", "--telegram", "7002")
        h.cli("users", "add", "ceo", "--role", "admin", "--password", "ceo-pw", "--email", "ceo@shop.example", "--telegram", "7003")
        yield h
    finally:
        h.stop()


async def escalations(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conv_id: str) -> list[dict[str, Any]]:
    async with http.get(f"{hub.url}/api/v1/escalations?conversation_id={conv_id}", headers=auth) as r:
        assert r.status == 200, await r.text()
        return sorted((await r.json())["escalations"], key=lambda e: e["level"])


def told_on(level: dict[str, Any]) -> set[tuple[str, str]]:
    return {(n["user"], n["channel"]) for n in level["notified"] if n["ok"]}


def telegrams_to(bot: FakeBotApi, chat_id: str) -> list[str]:
    return [m["text"] for m in bot.sent if m["chat_id"] == chat_id]


async def test_a_persian_complaint_climbs_by_email_and_telegram_once_per_level_and_stops_at_ack(
    ladder_hub: Hub, bot_api: FakeBotApi, inbox: Any
) -> None:
    hub, box = ladder_hub, inbox[0]
    key = hub.cli("apikeys", "add", "shop").stdout.strip().split()[-1]
    async with aiohttp.ClientSession() as http:
        agent = await hub.login(http)
        lead = await hub.login(http, "lena", "lena-pw")
        manager = await hub.login(http, "omid", "omid-pw")
        async with http.post(f"{hub.url}/api/v1/inbound", json={"id": "fa-1", "from": "cust-1", "text": COMPLAINT}, headers={"X-Api-Key": key}) as r:
            assert r.status == 202, await r.text()

        async def complaint() -> Any:
            async with http.get(f"{hub.url}/api/v1/conversations", headers=agent) as r:
                found = [c for c in (await r.json())["conversations"] if c["complaint"]]
            return found[0] if found else None

        conv = await eventually(complaint, timeout=30)
        assert conv["priority"] in ("high", "urgent")

        async def level_told(n: int, who: set[tuple[str, str]]) -> Any:
            found = await escalations(http, hub, lead, conv["id"])
            return found if len(found) >= n and told_on(found[n - 1]) >= who else None

        first = await eventually(lambda: level_told(1, {("lena", "email"), ("lena", "telegram")}), timeout=40)
        assert first[0]["reason"].startswith("complaint")

        # The worker dies after level 1 was told; level 2 comes due while it is away.
        hub.kill("worker")
        await asyncio.sleep(4)
        hub.spawn("worker")
        await hub.wait_ready()
        second = await eventually(lambda: level_told(2, {("omid", "email"), ("omid", "telegram")}), timeout=90)

        async with http.post(f"{hub.url}/api/v1/escalations/{second[1]['id']}/ack", headers=manager, json={}) as r:
            assert r.status == 202, await r.text()
        # Level 3 would be due 25 s after the complaint: wait past it, it must not come.
        await asyncio.sleep(max(0.0, 27 - 4))
        assert [e["level"] for e in await escalations(http, hub, lead, conv["id"])] == [1, 2]
        assert all(e["acknowledged_by"] == "omid" for e in await escalations(http, hub, lead, conv["id"]))

    lena_mail, omid_mail = box.to("lena@shop.example"), box.to("omid@shop.example")
    assert len(lena_mail) == 1 and "level 1" in lena_mail[0].get_body(("plain",)).get_content()
    assert len(omid_mail) == 1 and "level 2" in omid_mail[0].get_body(("plain",)).get_content()
    assert all(m["Auto-Submitted"] == "auto-replied" for m in lena_mail + omid_mail)  # automatic mail says so
    assert len(telegrams_to(bot_api, "7001")) == 1 and "level 1" in telegrams_to(bot_api, "7001")[0]
    assert len(telegrams_to(bot_api, "7002")) == 1 and "level 2" in telegrams_to(bot_api, "7002")[0]
    assert box.to("ceo@shop.example") == [] and telegrams_to(bot_api, "7003") == []
