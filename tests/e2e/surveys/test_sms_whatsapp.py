"""Issue 18 on a running hub, SMS and WhatsApp against the fake Twilio API with the real
client: the question goes out on the channel the customer wrote from, in her language; a
reply «۴» answers it and opens nothing; an automatic resolution asks nothing, so a «۴»
then is a message; a score of 1 flags the conversation and climbs the csat_low ladder to
the lead once; a resolution within the window is not asked again, one after it is (NPS
now); the report counts each answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Awaitable, Callable

import aiohttp
import pytest

from tests.channels.email.conftest import Outbox
from tests.channels.sms.conftest import form, signed
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.channels.whatsapp.conftest import signed as whatsapp_signed
from tests.channels.whatsapp.conftest import whatsapp_form
from tests.e2e.surveys.conftest import LEAD, WHATSAPP_SENDER, WINDOW_SECONDS, agent, lead_auth, reopen, reply, resolve, satisfaction, surveys_of
from tests.support import Hub, conversation_with, eventually

pytestmark = pytest.mark.integration


def now(predicate: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    """`eventually` polls coroutines: a plain predicate, wrapped."""

    async def check() -> bool:
        return predicate()

    return check


def new_number() -> str:
    return "+98912" + str(uuid.uuid4().int)[:7]


async def sms_in(http: aiohttp.ClientSession, hub: Hub, sender: str, text: str) -> None:
    params = form("SM" + uuid.uuid4().hex, text, sender)
    async with http.post(f"{hub.url}/webhooks/twilio/sms", data=params, headers=signed(params)) as r:
        assert r.status == 200, await r.text()


async def whatsapp_in(http: aiohttp.ClientSession, hub: Hub, sender: str, text: str) -> None:
    params = whatsapp_form("SM" + uuid.uuid4().hex, text, sender, name="Reza")
    async with http.post(f"{hub.url}/webhooks/twilio/whatsapp", data=params, headers=whatsapp_signed(params)) as r:
        assert r.status == 200, await r.text()


async def conversation_of(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], text: str, channel: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def shown() -> bool:
        found["c"] = await conversation_with(http, hub, auth, text, channel=channel)
        return found["c"] is not None

    await eventually(shown, timeout=30)
    return found["c"]


async def answered_and_resolved(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], send: Callable[[str], Awaitable[None]], text: str,
                                channel: str, answer: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A customer's message, the agent's reply, the resolution: the conversation and its survey."""
    await send(text)
    conv = await conversation_of(http, hub, auth, text, channel)
    await reply(http, hub, auth, conv["id"], answer)
    await resolve(http, hub, auth, conv["id"])
    [survey] = await surveys_of(http, hub, auth, conv["id"])
    return conv, survey


def sent_to(twilio: FakeTwilio, to: str) -> list[dict[str, str]]:
    return [m for m in twilio.sent if m.get("To") == to]


async def test_sms_asks_in_persian_and_a_persian_four_answers_it_opening_nothing(survey_hub: Hub, twilio_api: FakeTwilio) -> None:
    number = new_number()
    async with aiohttp.ClientSession() as http:
        auth = await agent(http, survey_hub)
        conv, survey = await answered_and_resolved(http, survey_hub, auth, lambda text: sms_in(http, survey_hub, number, text),
                                                   "سلام، سفارش ۱۲۳ من کجاست؟", "sms", "سلام، فردا می‌رسد")
        assert (survey["kind"], survey["channel"], survey["score"]) == ("csat", "sms", None)
        await eventually(now(lambda: any("از پاسخ ما راضی بودید" in m["Body"] for m in sent_to(twilio_api, number))), timeout=30)

        await sms_in(http, survey_hub, number, "۴")
        [answered] = await surveys_of(http, survey_hub, auth, conv["id"], answered=True)
        assert (answered["score"], answered["low"]) == (4, False)
        # the score opened nothing and joined nothing: the conversation is resolved, its
        # messages are the question's customer message and the reply, and no «۴» anywhere
        detail = (await (await http.get(f"{survey_hub.url}/api/v1/conversations/{conv['id']}", headers=auth)).json())
        assert detail["status"] == "resolved" and [m["text"] for m in detail["messages"]] == ["سلام، سفارش ۱۲۳ من کجاست؟", "سلام، فردا می‌رسد"]
        assert await conversation_with(http, survey_hub, auth, "۴", channel="sms") is None

        lead = await lead_auth(http, survey_hub)
        report = await satisfaction(http, survey_hub, lead)
        sms = report["groups"]["sms"]["csat"]
        assert sms["count"] >= 1 and sms["distribution"]["4"] >= 1 and sms["by_sla"]["met"]["count"] >= 1


async def test_whatsapp_asks_and_a_five_answers(survey_hub: Hub, twilio_api: FakeTwilio) -> None:
    number = new_number()
    async with aiohttp.ClientSession() as http:
        auth = await agent(http, survey_hub)
        conv, _ = await answered_and_resolved(http, survey_hub, auth, lambda text: whatsapp_in(http, survey_hub, number, text),
                                              "where is my parcel?", "whatsapp", "It ships tomorrow.")
        to = f"whatsapp:{number}"
        await eventually(now(lambda: any(m["Body"].startswith("How did we do?") and m["From"] == f"whatsapp:{WHATSAPP_SENDER}"
                                         for m in sent_to(twilio_api, to))), timeout=30)
        await whatsapp_in(http, survey_hub, number, "5")
        [answered] = await surveys_of(http, survey_hub, auth, conv["id"], answered=True)
        assert (answered["score"], answered["channel"]) == (5, "whatsapp")
        report = await satisfaction(http, survey_hub, await lead_auth(http, survey_hub))
        assert report["groups"]["whatsapp"]["csat"]["distribution"]["5"] >= 1


async def test_an_automatic_resolution_asks_nothing_and_a_four_then_is_a_message(survey_hub: Hub, twilio_api: FakeTwilio) -> None:
    number = new_number()
    async with aiohttp.ClientSession() as http:
        auth = await agent(http, survey_hub)
        await sms_in(http, survey_hub, number, "is the shop open on Friday?")
        conv = await conversation_of(http, survey_hub, auth, "is the shop open on Friday?", "sms")
        await resolve(http, survey_hub, auth, conv["id"], automatic=True)

        async def resolved() -> bool:
            detail = await (await http.get(f"{survey_hub.url}/api/v1/conversations/{conv['id']}", headers=auth)).json()
            return bool(detail["status"] == "resolved")

        await eventually(resolved, timeout=30)  # else the «۴» could join it before the resolution is read
        await sms_in(http, survey_hub, number, "۴")
        # outside any survey's window the score is a message like any other
        again = await conversation_of(http, survey_hub, auth, "۴", "sms")
        assert again["id"] != conv["id"] and again["status"] == "open"  # a new conversation, as any SMS after a resolution
        first = await (await http.get(f"{survey_hub.url}/api/v1/conversations/{conv['id']}", headers=auth)).json()
        assert first["surveys"] == [] and again["surveys"] == [] and not sent_to(twilio_api, number)


async def test_a_one_flags_climbs_to_the_lead_once_and_a_resolution_after_the_window_asks_again(survey_hub: Hub, outbox: Outbox) -> None:
    number = new_number()
    async with aiohttp.ClientSession() as http:
        auth = await agent(http, survey_hub)
        lead = await lead_auth(http, survey_hub)
        conv, first = await answered_and_resolved(http, survey_hub, auth, lambda text: sms_in(http, survey_hub, number, text),
                                                  "my refund is late", "sms", "We are on it.")
        asked_at = time.monotonic()
        await sms_in(http, survey_hub, number, "1")
        [answered] = await surveys_of(http, survey_hub, auth, conv["id"], answered=True)
        assert answered["score"] == 1 and answered["low"]

        async def flagged() -> bool:
            detail = await (await http.get(f"{survey_hub.url}/api/v1/conversations/{conv['id']}", headers=auth)).json()
            return bool(detail["low_satisfaction"]) and detail["status"] == "resolved"  # flagged, not reopened

        await eventually(flagged, timeout=30)

        async def escalations() -> list[dict[str, Any]]:
            async with http.get(f"{survey_hub.url}/api/v1/escalations?conversation_id={conv['id']}", headers=lead) as r:
                return list((await r.json())["escalations"])

        async def levels_fired() -> bool:
            return len(await escalations()) >= 1

        await eventually(levels_fired, timeout=30)
        [level] = await escalations()
        assert (level["ladder"], level["level"], level["notify"]) == ("unhappy-customer", 1, ["role:lead"])
        _, _, lena = LEAD
        await eventually(now(lambda: len(lena_mails(outbox, lena, conv["id"])) >= 1), timeout=30)

        # within the window of that survey: resolved again, not asked again
        await reopen(http, survey_hub, auth, conv["id"])
        await resolve(http, survey_hub, auth, conv["id"])
        await asyncio.sleep(max(0.0, WINDOW_SECONDS + 1 - (time.monotonic() - asked_at)))
        assert len((await surveys_of(http, survey_hub, auth, conv["id"]))) == 1
        # the lead was told once, and the ladder's next level (an hour away) has not fired
        assert len(await escalations()) == 1 and len(lena_mails(outbox, lena, conv["id"])) == 1
        # after the window: asked again, and NPS now (she answered a CSAT)
        await reopen(http, survey_hub, auth, conv["id"])
        await resolve(http, survey_hub, auth, conv["id"])
        shown = await surveys_of(http, survey_hub, auth, conv["id"], count=2)
        assert [s["kind"] for s in shown] == ["csat", "nps"] and shown[0]["id"] == first["id"]


def lena_mails(outbox: Outbox, address: str, conversation_id: str) -> list[Any]:
    return [m for m in outbox.to(address) if conversation_id in m.get_body(("plain",)).get_content()]  # type: ignore[union-attr]
