"""The manager's charts over time in a real browser: a known history (the last three days)
is written into the read model; the page's line chart has a point per bucket with a first
response figure (p50 and p90) and its SLA chart a bar per bucket with a decided clock,
counted against the very answer the page got from /api/v1/reports/timeseries, by channel
per day and by queue per hour. English and Persian (rtl, Persian digits) screenshots."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from channels import registry
from hub import events as ev
from tests.support import Hub, configured_hub, project
from tests.support.browser import chromium, record_dialogs

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CONFIG = """
[[queues]]
name = "support"
channels = ["web", "api"]

[[queues]]
name = "فروش"
channels = ["sms"]
"""
PERSIAN_DIGITS = set("۰۱۲۳۴۵۶۷۸۹")


def history(now: datetime) -> list[ev.Event]:
    """Conversations 2 h to 60 h ago (away from the 24 h and 7 d edges): replies after
    `after` seconds, first-response clocks of 5 minutes, met or breached."""
    plan = [  # hours ago, channel, queue, reply after seconds (None: unanswered)
        (2, "web", "support", 40), (3, "web", "support", 400), (5, "sms", "فروش", 90), (9, "api", "support", 20),
        (14, "sms", "فروش", None), (30, "web", "support", 75), (31, "sms", "فروش", 500), (55, "api", "support", 15),
        (60, "web", "support", 30),
    ]
    out: list[ev.Event] = []
    for n, (hours, channel, queue, after) in enumerate(plan):
        opened = now - timedelta(hours=hours, minutes=7)
        common = {"contact_id": f"chart-k{n}", "conversation_id": f"chart-c{n}"}
        due = opened + timedelta(minutes=5)
        out += [
            ev.ConversationOpened(at=opened, channel=channel, address=f"a{n}", name=f"Customer {n}", **common),
            ev.ConversationAssigned(at=opened, queue=queue, **common),
            ev.MessageReceived(id=f"chart-in{n}", at=opened, channel=channel, address=f"a{n}", text="hello", **common),
        ]
        replied = opened + timedelta(seconds=after) if after is not None else None
        if replied:
            out.append(ev.ReplyRequested(id=f"chart-out{n}", at=replied, channel=channel, address=f"a{n}", text="hi", author="alice", **common))
        late = replied is None or replied > due
        clock = {"started_at": opened.isoformat(), "due_at": due.isoformat(), "warned_at": None, "paused": False, "stopped_at": None,
                 "met_at": replied.isoformat() if replied else None, "breached_at": due.isoformat() if late else None}
        out.append(ev.SlaClocksChanged(at=opened, clocks={"policy": "p", "first_response": clock}, **common))
    return out


@pytest.fixture(scope="module")
async def chart_hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with configured_hub(Path(tmp_path_factory.mktemp("charts")), CONFIG) as h:
        await project(h.db_url, history(datetime.now(timezone.utc)))
        yield h


DRAWN = (
    "() => ({points: document.querySelectorAll('#trend-response svg circle.pt').length,"
    " bars: document.querySelectorAll('#trend-sla svg rect.sla-bar').length,"
    " lines: document.querySelectorAll('#trend-response svg path.line').length,"
    " groups: [...document.querySelectorAll('#trend-legend .series bdi')].map(b => b.textContent)})"
)


def english_label(channel: str) -> str:
    found = registry.get(channel)
    return found.labels["en"] if found else channel


async def charted(page: Page, answer: dict[str, Any]) -> dict[str, Any]:
    """What the page drew, and what the answer says it should have drawn, once the page has
    drawn it (an earlier answer may still be on screen for a moment), or after 10 s."""
    series = answer["series"]
    expected = {
        "points": 2 * sum(1 for s in series for p in s["points"] if p["first_response"]["count"]),
        "bars": sum(1 for s in series for p in s["points"] if p["sla"]["met"] + p["sla"]["breached"]),
        "lines": sum(1 for s in series for _ in ("p50", "p90") if any(p["first_response"]["count"] for p in s["points"])),
        # by channel the legend names each channel by its label (channels/registry.py), in English here
        "groups": [english_label(s["group"]) if answer["by"] == "channel" else s["group"] for s in series],
    }
    try:
        await page.wait_for_function(f"e => JSON.stringify(({DRAWN})()) === JSON.stringify(e)", arg=expected, timeout=10_000)
    except PlaywrightTimeout:
        pass  # the assertion below shows the difference
    return {"expected": expected, "drawn": await page.evaluate(DRAWN)}


async def test_charts_draw_the_timeseries_the_page_fetched(chart_hub: Hub) -> None:
    hub = chart_hub
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 1400})
        dialogs = record_dialogs(page)
        await page.goto(hub.url + "/manager")
        await page.fill("#login-username", "maria")
        await page.fill("#login-password", "maria-pw")
        async with page.expect_response(lambda r: "/api/v1/reports/timeseries" in r.url) as got:
            await page.click("#login-submit")
        answer = await (await got.value).json()
        assert answer["by"] == "channel" and answer["bucket"] == "day" and len(answer["buckets"]) in (7, 8)
        await page.wait_for_selector("#trend-response svg circle.pt")
        result = await charted(page, answer)
        assert result["drawn"] == result["expected"], result
        assert result["expected"]["points"] > 0 and result["expected"]["bars"] > 0  # the history shows
        assert result["drawn"]["groups"] == [english_label(c) for c in ("api", "sms", "web")] == ["API", "SMS", "Web chat"]
        await page.screenshot(path=str(ARTIFACTS / "manager-charts-en.png"), full_page=True)

        # by queue, per hour, last 24 hours: one answer, one drawing
        await page.select_option("#trend-range", "24h")
        await page.select_option("#trend-by", "queue")
        async with page.expect_response(lambda r: "/api/v1/reports/timeseries" in r.url and "bucket=hour" in r.url) as got:
            await page.select_option("#trend-bucket", "hour")
        answer = await (await got.value).json()
        assert answer["by"] == "queue" and len(answer["buckets"]) in (24, 25)
        result = await charted(page, answer)
        assert result["drawn"] == result["expected"], result
        assert sorted(result["drawn"]["groups"]) == ["support", "فروش"]

        # 30 days per hour would be over the cap: the page charts that range per day
        async with page.expect_response(lambda r: "/api/v1/reports/timeseries" in r.url and "bucket=day" in r.url) as got:
            await page.select_option("#trend-range", "30d")
        assert (await got.value).status == 200
        assert await page.locator("#trend-bucket option[value=hour]").is_disabled()

        async with page.expect_response(lambda r: "/api/v1/reports/timeseries" in r.url) as got:
            await page.select_option("#trend-range", "7d")
        answer = await (await got.value).json()
        result = await charted(page, answer)
        assert result["drawn"] == result["expected"], result
        await page.click("#lang-toggle")
        assert await page.get_attribute("html", "dir") == "rtl"
        assert await page.inner_text("#trend-card h2") == "در گذر زمان"
        ticks = await page.eval_on_selector_all("#trend-response svg text.time", "els => els.map(e => e.textContent)")
        assert ticks and all(PERSIAN_DIGITS & set(t) for t in ticks), ticks
        assert not any(ch.isascii() and ch.isdigit() for t in ticks for ch in t), ticks
        percents = await page.eval_on_selector_all("#trend-sla svg text.tick:not(.time)", "els => els.map(e => e.textContent)")
        assert any("۱۰۰" in p for p in percents), percents
        result = await charted(page, answer)
        assert result["drawn"] == result["expected"], result  # the same drawing, mirrored
        await page.screenshot(path=str(ARTIFACTS / "manager-charts-fa.png"), full_page=True)
        await page.click("#lang-toggle")
        await page.close()
    assert dialogs == []
