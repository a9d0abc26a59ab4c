"""The agent page's context in a real browser: the customer panel lists the customer's other
conversations on other channels and opens one on a click; the SLA countdown of a short
policy ticks, turns to a warning and to a breach as the live frames arrive, then shows the
clock met once an agent answers; the Jalali calendar, chosen apart from the language,
changes a shown date (the expected Jalali date computed here, not written down);
mixed-direction text takes its own direction in either UI language and a phone number in a
Persian sentence keeps its digit order. Screenshots agent-context-en.png / -fa.png."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from playwright.async_api import Page

from hub import events as ev
from tests.support import Hub, configured_hub, eventually, project
from tests.support.browser import chromium, open_signed_in, record_dialogs

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CONFIG = """
[[sla]]
name = "chat-20s"
calendar = "24x7"
first_response = "20s"
resolution = "1h"
warn_at = 0.4
"""
TZ = "Asia/Tehran"
SENDER = "ctxb-user"
NAME = "مریم Rahimi"
PHONE = "+98 912 345 6789"
PERSIAN = f"سلام، شماره من {PHONE} است؛ لطفا تماس بگیرید"
SUBJECT_PHONE = "۰۹۱۲ ۳۴۵ ۶۷۸۹"
SUBJECT = f"سفارش ۴۷۱۱ - Order 4711 - تماس {SUBJECT_PHONE}"
ENGLISH = "Hello, my order 4711 did not arrive. Mail maryam@example.com or call me."
# Just after Nowruz in Tehran: the Gregorian year is 2026, the Jalali year has just turned.
OLD_AT = datetime(2026, 3, 20, 22, 0, tzinfo=timezone.utc)


def to_jalali(d: date) -> tuple[int, int, int]:
    """Gregorian -> Jalali (the arithmetic 33-year-cycle rule, as in jdf/jalaali)."""
    gy, gm, gd = d.year, d.month, d.day
    g_d_m = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
    gy2 = gy + 1 if gm > 2 else gy
    days = 355666 + 365 * gy + (gy2 + 3) // 4 - (gy2 + 99) // 100 + (gy2 + 399) // 400 + gd + g_d_m[gm - 1]
    jy = -1595 + 33 * (days // 12053)
    days %= 12053
    jy += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        jy += (days - 1) // 365
        days = (days - 1) % 365
    if days < 186:
        return jy, 1 + days // 31, 1 + days % 31
    return jy, 7 + (days - 186) // 30, 1 + (days - 186) % 30


def persian_digits(n: int | str) -> str:
    return str(n).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def test_the_jalali_conversion_used_here_knows_nowruz() -> None:
    assert to_jalali(date(2025, 3, 21)) == (1404, 1, 1)
    assert to_jalali(date(2026, 3, 20)) == (1404, 12, 29)
    assert to_jalali(date(2026, 3, 21)) == (1405, 1, 1)
    assert to_jalali(date(2026, 11, 23)) == (1405, 9, 2)


def history(contact: str) -> list[ev.Event]:
    """The customer's earlier conversations, on SMS (a resolved complaint, in Persian) and
    email (in English), written into the read model as the projector would."""
    now = datetime.now(timezone.utc)
    sms = {"contact_id": contact, "conversation_id": "ctxb-sms"}
    email = {"contact_id": contact, "conversation_id": "ctxb-email"}
    return [
        ev.ConversationOpened(id="ctxb-open-api", at=OLD_AT - timedelta(days=30), channel="api", address=SENDER, name=NAME,
                              contact_id=contact, conversation_id="ctxb-api-old"),
        ev.ConversationResolved(at=OLD_AT - timedelta(days=29), by="alice", contact_id=contact, conversation_id="ctxb-api-old"),
        ev.ConversationOpened(id="ctxb-open-sms", at=OLD_AT, channel="sms", address="+989123456789", name=NAME, **sms),
        ev.MessageReceived(id="ctxb-in-sms", at=OLD_AT, channel="sms", address="+989123456789", name=NAME, text=PERSIAN, **sms),
        ev.ComplaintDetected(at=OLD_AT, reason="the customer wrote «شکایت»", **sms),
        ev.ConversationResolved(at=OLD_AT + timedelta(hours=2), by="alice", **sms),
        ev.ConversationOpened(id="ctxb-open-email", at=now - timedelta(hours=3), channel="email", address="maryam@example.com",
                              name=NAME, subject=SUBJECT, **email),
        ev.MessageReceived(id="ctxb-in-email", at=now - timedelta(hours=3), channel="email", address="maryam@example.com",
                           name=NAME, text=ENGLISH, subject=SUBJECT, **email),
        ev.ConversationResolved(at=now - timedelta(hours=2), by="alice", **email),
    ]


@pytest.fixture(scope="module")
async def sla_hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with configured_hub(Path(tmp_path_factory.mktemp("context")), CONFIG) as h:
        yield h


async def direction(page: Page, selector: str) -> str:
    return str(await page.eval_on_selector(selector, "e => getComputedStyle(e).direction"))


async def lefts_of_groups(page: Page, selector: str) -> list[float]:
    """Where each space-separated group of an element's text starts on screen."""
    return list(await page.eval_on_selector(selector, """e => {
        const node = e.firstChild, s = node.textContent, out = [];
        let at = 0;
        for (const group of s.split(' ')) {
          const r = document.createRange();
          r.setStart(node, at); r.setEnd(node, at + group.length);
          out.push(r.getBoundingClientRect().left);
          at += group.length + 1;
        }
        return out; }"""))


async def sign_in(page: Page, hub: Hub) -> None:
    await open_signed_in(page, hub.url + "/")


async def test_panel_sla_countdown_jalali_dates_and_mixed_direction(sla_hub: Hub) -> None:
    hub = sla_hub
    key = hub.cli("apikeys", "add", "ctx").stdout.strip().split()[-1]
    ARTIFACTS.mkdir(exist_ok=True)
    async with aiohttp.ClientSession() as http, chromium() as browser:
        alice = await hub.login(http)
        # The API channel's first message makes the customer's contact; the older history is
        # then written for that same contact.
        async with http.post(f"{hub.url}/api/v1/inbound", headers={"X-Api-Key": key},
                             json={"id": "ctxb-1", "from": SENDER, "name": NAME, "text": "Where is my parcel? سفارش ۴۷۱۱"}) as r:
            assert r.status == 202, await r.text()

        async def live_conversation() -> Any:
            async with http.get(f"{hub.url}/api/v1/conversations", headers=alice) as r:
                for c in (await r.json())["conversations"]:
                    if any(i["address"] == SENDER for i in c["contact"]["identities"]) and (c["sla"]["first_response"] or {}).get("due_at"):
                        return c
            return None

        conv = await eventually(live_conversation)
        contact = conv["contact"]["id"]
        await project(hub.db_url, history(contact))

        context = await browser.new_context(viewport={"width": 1400, "height": 900}, timezone_id=TZ)
        page = await context.new_page()
        dialogs = record_dialogs(page)
        await sign_in(page, hub)
        item = page.locator(f"#queue li.conv[data-id='{conv['id']}']")
        await item.wait_for()
        assert await item.locator(".sla-badge .sla").count() == 1  # the queue item's small clock
        await item.click()

        # --- SLA countdown: ticks in the browser, then warned and breached by live frames ---
        clock = page.locator("#conversation .sla-clocks [data-clock='first_response'] .sla")
        await clock.wait_for()
        first = await clock.inner_text()
        await page.wait_for_function(
            "t => { const e = document.querySelector(\"#conversation .sla-clocks [data-clock='first_response'] .sla\");"
            " return e && e.textContent !== t; }", arg=first, timeout=10_000)
        await page.locator("#conversation .sla-clocks .sla[data-warned]").wait_for(timeout=30_000)
        await page.locator("#conversation .sla-clocks .sla[data-breached].sla-breached").wait_for(timeout=30_000)
        breached_text = await clock.inner_text()
        assert breached_text.startswith("breached ") and breached_text.endswith(" ago"), breached_text
        await page.wait_for_function(
            "t => { const e = document.querySelector('#conversation .sla-clocks .sla-breached');"
            " return e && e.textContent !== t; }", arg=breached_text, timeout=10_000)
        async with http.get(f"{hub.url}/api/v1/conversations/{conv['id']}", headers=alice) as r:
            server_clock = (await r.json())["sla"]["first_response"]
        assert await clock.get_attribute("data-breached") == server_clock["breached_at"]

        # --- the customer panel: every conversation of this customer, complaints, open one ---
        panel = page.locator("#customer-panel")
        await panel.locator("li.cp-conv[data-id='ctxb-sms']").wait_for()
        listed = await panel.locator("li.cp-conv").evaluate_all("els => els.map(e => e.dataset.id)")
        assert listed == [conv["id"], "ctxb-email", "ctxb-sms", "ctxb-api-old"]  # newest activity first
        assert await panel.locator("li.cp-conv.current").get_attribute("data-id") == conv["id"]
        identities = await panel.locator(".cp-identities li").all_inner_texts()
        assert any("maryam@example.com" in i for i in identities) and any("+989123456789" in i for i in identities)
        complaints = await panel.locator("li.cp-complaint").evaluate_all("els => els.map(e => e.dataset.id)")
        assert complaints == ["ctxb-sms"]
        assert "Resolved" in await panel.locator("li.cp-complaint").inner_text()
        await page.screenshot(path=str(ARTIFACTS / "agent-context-en.png"), full_page=True)

        await panel.locator("li.cp-conv[data-id='ctxb-sms']").click()
        message = page.locator("#messages li.msg[data-id='ctxb-in-sms']")
        await message.wait_for()
        await panel.locator("li.cp-conv.current[data-id='ctxb-sms']").wait_for()
        assert await page.inner_text("#conversation .sla-clocks") == ""  # that old one has no clocks

        # --- mixed direction in the English UI ---
        assert await page.get_attribute("html", "dir") == "ltr"
        text = "#messages li.msg[data-id='ctxb-in-sms'] .text"
        assert await page.inner_text(text) == PERSIAN  # the words as written, nothing added
        assert await direction(page, text) == "rtl"
        assert await direction(page, "#conversation .contact-name") == "rtl"
        assert await direction(page, "#customer-panel .cp-name") == "rtl"
        assert await direction(page, f"#queue li.conv[data-id='{conv['id']}'] .conv-top bdi") == "rtl"
        phone = f"{text} bdi.ltr-run"
        assert await page.inner_text(phone) == PHONE
        assert await direction(page, phone) == "ltr"
        # its digit groups stay in reading order: "+98" left of "912", ... left of "6789"
        lefts = await lefts_of_groups(page, phone)
        assert lefts == sorted(lefts) and len(set(lefts)) == 4, lefts

        # --- dates: Gregorian by default in English, Jalali when chosen ---
        shown_at = message.locator("time")
        local = OLD_AT.astimezone(ZoneInfo(TZ))
        jy, _, _ = to_jalali(local.date())
        assert jy != local.year
        assert str(local.year) in await shown_at.inner_text()
        await page.select_option("#calendar-choice", "persian")
        await page.wait_for_function(f"() => document.querySelector(\"#messages li.msg[data-id='ctxb-in-sms'] time\").textContent.includes('{jy}')")
        assert str(local.year) not in await shown_at.inner_text()
        # the browser's own Intl agrees with the conversion above about that instant
        assert str(jy) in await page.evaluate(f"() => new Date('{OLD_AT.isoformat()}').toLocaleDateString('en-u-ca-persian', {{year: 'numeric'}})")
        panel_dates = await panel.locator("li.cp-conv time").all_inner_texts()
        assert any(str(jy) in d for d in panel_dates)  # the panel's dates follow the choice too

        # --- Persian UI: the choice stays, digits are Persian; an English message is ltr ---
        await page.click("#lang-toggle")
        assert await page.get_attribute("html", "dir") == "rtl"
        await page.wait_for_function(f"() => document.querySelector(\"#messages li.msg[data-id='ctxb-in-sms'] time\").textContent.includes('{persian_digits(jy)}')")
        assert await page.input_value("#calendar-choice") == "persian"
        assert await page.inner_text(phone) == PHONE
        await page.select_option("#calendar-choice", "gregory")
        await page.wait_for_function(f"() => document.querySelector(\"#messages li.msg[data-id='ctxb-in-sms'] time\").textContent.includes('{persian_digits(local.year)}')")
        await page.select_option("#calendar-choice", "persian")
        await panel.locator("li.cp-conv[data-id='ctxb-email']").click()
        await page.locator("#messages li.msg[data-id='ctxb-in-email']").wait_for()
        assert await direction(page, "#messages li.msg[data-id='ctxb-in-email'] .text") == "ltr"
        assert await page.inner_text("#messages li.msg[data-id='ctxb-in-email'] .text") == ENGLISH
        assert await page.inner_text("#messages li.msg[data-id='ctxb-in-email'] bdi.ltr-run") == "maryam@example.com"
        # a phone number in Persian digits inside a mixed subject, in the Persian UI
        subject_phone = "#conversation .conv-head .subject bdi.ltr-run"
        assert await page.inner_text("#conversation .conv-head .subject") == SUBJECT
        assert await page.inner_text(subject_phone) == SUBJECT_PHONE
        lefts = await lefts_of_groups(page, subject_phone)
        assert lefts == sorted(lefts) and len(set(lefts)) == 3, lefts

        # back to the live conversation: the clock, in Persian digits, then met once answered
        await panel.locator(f"li.cp-conv[data-id='{conv['id']}']").click()
        await panel.locator(f"li.cp-conv.current[data-id='{conv['id']}']").wait_for()
        assert "پیش نقض شد" in await clock.inner_text()
        async with http.post(f"{hub.url}/api/v1/conversations/{conv['id']}/replies", headers=alice, json={"text": "در راه است"}) as r:
            assert r.status == 202
        await page.locator("#conversation .sla-clocks [data-clock='first_response'] .sla-late").wait_for(timeout=30_000)
        assert await clock.inner_text() == "با تأخیر رعایت شد"  # answered after the breach
        await page.screenshot(path=str(ARTIFACTS / "agent-context-fa.png"), full_page=True)

        # another customer answered in time: that clock shows met
        async with http.post(f"{hub.url}/api/v1/inbound", headers={"X-Api-Key": key},
                             json={"id": "ctxb-quick", "from": "ctxb-quick", "name": "Quick", "text": "hi"}) as r:
            assert r.status == 202

        async def quick() -> Any:
            async with http.get(f"{hub.url}/api/v1/conversations", headers=alice) as r:
                return next((c for c in (await r.json())["conversations"] if c["contact"]["name"] == "Quick"), None)

        quick_conv = await eventually(quick)
        async with http.post(f"{hub.url}/api/v1/conversations/{quick_conv['id']}/replies", headers=alice, json={"text": "hello"}) as r:
            assert r.status == 202
        await page.locator(f"#queue li.conv[data-id='{quick_conv['id']}']").click()
        await page.locator("#conversation .sla-clocks [data-clock='first_response'] .sla-met").wait_for(timeout=30_000)
        assert await clock.inner_text() == "رعایت شد"

        # waiting on the customer: the resolution clock pauses and says what is left of its hour
        async with http.post(f"{hub.url}/api/v1/conversations/{quick_conv['id']}/pending", headers=alice) as r:
            assert r.status == 202
        paused = page.locator("#conversation .sla-clocks [data-clock='resolution'] .sla-paused")
        await paused.wait_for(timeout=30_000)
        async with http.get(f"{hub.url}/api/v1/conversations/{quick_conv['id']}", headers=alice) as r:
            left = (await r.json())["sla"]["resolution"]["left_seconds"]
        assert 0 < left < 3600
        minutes, seconds = divmod(int(left), 60)
        assert await paused.inner_text() == f"مکث · {persian_digits(f'{minutes}:{seconds:02}')} مانده"

        # the choice is the browser's: it survives a reload
        await page.reload()
        await page.wait_for_selector("#live-status.live")
        assert await page.input_value("#calendar-choice") == "persian"
        await context.close()
    assert dialogs == []
