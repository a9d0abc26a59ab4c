"""The customer satisfaction card on /manager in a real browser (issue 18). Surveys are written
into the hub's read model (CSAT and NPS, first responses met, breached and without a clock,
one unanswered, two low CSAT scores, one with an XSS payload for a comment); other tests of
the package add surveys to the same hub, so the card is checked against the report the test
fetches itself with the page's own query, in English and in Persian (rtl, Persian digits,
Tehran's days): CSAT mean, answers of asked, the distribution, NPS and its parts, the SLA
split, the groups of the `by` select, a point per day on the charts, and the low scores,
whose comments show as text and whose links open the conversation on the agent page.
Screenshots of the card go to /tmp/survey-screenshots/manager-<lang>.png."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from playwright.async_api import Page

from channels import registry
from hub import events as ev
from tests.e2e.surveys.conftest import lead_auth
from tests.support import Hub, project
from tests.support.browser import chromium, record_dialogs

pytestmark = pytest.mark.browser

SCREENSHOTS = Path("/tmp/survey-screenshots")
XSS = '<img src=x onerror="window.__xss=1">'
PERSIAN_COMMENT = "دیر جواب دادید، تماس بگیرید +98 912 345 6789"
# the card's words for the first response's SLA outcomes (manager-satisfaction.js)
OUTCOMES = {"en": {"met": "met", "breached": "breached", "none": "no SLA clock"},
            "fa": {"met": "رعایت‌شده", "breached": "نقض‌شده", "none": "بدون مهلت SLA"}}
NOBODY = {"en": "nobody", "fa": "هیچ‌کس"}
BY_WORDS = {"en": {"channel": "Channel", "queue": "Queue", "agent": "Agent"}, "fa": {"channel": "کانال", "queue": "صف", "agent": "کارشناس"}}
LATIN = str.maketrans({**{chr(0x06F0 + d): str(d) for d in range(10)}, "٫": ".", "٬": ",", "٪": "%", "−": "-",
                       "\u200e": None, "\u200f": None, "\u061c": None})

# What the card shows, read from the page as text.
CARD = """() => {
  const text = (sel) => { const n = document.querySelector(sel); return n ? n.textContent : null; };
  const cells = (tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent);
  const card = document.querySelector("#satisfaction-card");
  return {
    mean: text("#sat-csat-mean"), answered: text("#sat-csat-answered"),
    dist: [...card.querySelectorAll("#sat-dist text.count")].map((t) => t.textContent),
    nps: text("#sat-nps-score"), npsAnswered: text("#sat-nps-answered"),
    promoters: text("#sat-nps-promoters"), passives: text("#sat-nps-passives"), detractors: text("#sat-nps-detractors"),
    sla: Object.fromEntries([...card.querySelectorAll("#sat-sla tbody tr[data-outcome]")].map((tr) => [tr.dataset.outcome, cells(tr)])),
    groupHead: text("#sat-groups th.group"),
    groups: [...card.querySelectorAll("#sat-groups tbody tr[data-group]")].map((tr) => [tr.dataset.group, ...cells(tr)]),
    csatPoints: card.querySelectorAll("#sat-trend-csat svg circle.pt.csat").length,
    npsPoints: card.querySelectorAll("#sat-trend-nps svg circle.pt.nps").length,
    times: [...card.querySelectorAll("#sat-trend-csat svg text.time")].map((t) => Number(t.getAttribute("x"))),
    low: [...card.querySelectorAll("#sat-low tbody tr[data-survey]")].map((tr) => ({
      survey: tr.dataset.survey, cells: cells(tr), href: tr.querySelector("a") && tr.querySelector("a").getAttribute("href")})),
  };
}"""
INJECTED = """() => ({xss: window.__xss === undefined ? null : window.__xss,
  elements: document.querySelectorAll("#satisfaction-card img, #satisfaction-card script, #satisfaction-card [onerror]").length})"""


def seeded(now: datetime, tag: str) -> tuple[list[ev.Event], dict[str, str]]:
    """Resolved conversations with a survey each, and the ids of the two low ones."""
    plan = [  # name, kind, channel, agent, sla, score (None: unanswered), days ago, comment
        ("csat-met-5", "csat", "sms", "alice", "met", 5, 3, ""),
        ("csat-met-4", "csat", "whatsapp", "alice", "met", 4, 0, "ممنون"),
        ("csat-breached-2", "csat", "telegram", "omid", "breached", 2, 0, PERSIAN_COMMENT),
        ("csat-breached-1", "csat", "sms", "omid", "breached", 1, 0, XSS),
        ("csat-none", "csat", "web", "alice", "none", None, 0, ""),
        ("nps-met-10", "nps", "email", "alice", "met", 10, 3, ""),
        ("nps-breached-6", "nps", "sms", "omid", "breached", 6, 0, ""),
    ]
    out: list[ev.Event] = []
    low: dict[str, str] = {}
    for n, (name, kind, channel, agent, sla, score, days, comment) in enumerate(plan):
        conv, contact, address = f"sat-{tag}-{name}", f"sat-k-{tag}-{n}", f"sat-{tag}-{n}@customers.example"
        # minutes apart, the XSS one answered last: it heads the low list
        opened = now - timedelta(days=days, minutes=90 - n)
        common = {"contact_id": contact, "conversation_id": conv}
        asked = ev.SurveyAsked(id=f"{conv}-survey", at=opened + timedelta(minutes=20), kind=kind, channel=channel, address=address, language="en",
                               question="How did we do?", scale=[1, 5] if kind == "csat" else [0, 10],
                               expires_at=opened + timedelta(days=3), agent=agent, queue="support", sla=sla, **common)
        out += [
            ev.ConversationOpened(at=opened, channel=channel, address=address, name=f"Customer {n}", **common),
            ev.MessageReceived(id=f"{conv}-in", at=opened, channel=channel, address=address, text="my order is late", **common),
            ev.ReplyRequested(id=f"{conv}-out", at=opened + timedelta(minutes=5), channel=channel, address=address, text="on it", author=agent, **common),
            ev.ConversationResolved(at=opened + timedelta(minutes=15), queue="support", agent=agent, by=agent, **common),
            asked,
        ]
        if score is not None:
            is_low = kind == "csat" and score <= 2
            out.append(ev.SurveyAnswered(id=ev.derived_id("survey-answered", asked.id), at=asked.at + timedelta(minutes=10), survey_id=asked.id,
                                         kind=kind, score=score, comment=comment, channel=channel, agent=agent, queue="support", sla=sla,
                                         low=is_low, **common))
            if is_low:
                low[comment] = asked.id
    return out, low


def latin(text: str | None) -> str:
    return (text or "").translate(LATIN)


def numbers(text: str | None) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?", latin(text))]


def label(channel: str, lang: str) -> str:
    found = registry.get(channel)
    return found.labels.get(lang, found.labels["en"]) if found else channel


def mean_differs(shown: str | None, mean: float | None) -> bool:
    """A mean shows with one decimal (JavaScript and Python round a half differently: within 0.05)."""
    if mean is None:
        return shown != "—"
    return not re.fullmatch(r"\d\.\d", latin(shown)) or abs(float(latin(shown)) - mean) > 0.05 + 1e-9


def answered_differs(shown: str | None, f: dict[str, Any]) -> bool:
    """"3 of 5 answered (60%)": the answers, the asked, and the rate within rounding."""
    found = numbers(shown)
    if f["response_rate"] is None:
        return found != [f["count"], f["asked"]] or "—" not in (shown or "")
    return found[:2] != [f["count"], f["asked"]] or len(found) != 3 or abs(found[2] - 100 * f["response_rate"]) > 0.5 + 1e-9


def score_differs(shown: str | None, score: int | None) -> bool:
    return shown != "—" if score is None else numbers(shown) != [score]


def row_differences(where: str, cells: list[str], csat: dict[str, Any], nps: dict[str, Any]) -> list[str]:
    problems = []
    if mean_differs(cells[1], csat["mean"]):
        problems.append(f"{where}: CSAT mean {cells[1]!r}, report {csat['mean']}")
    if numbers(cells[2]) != [csat["count"], csat["asked"]]:
        problems.append(f"{where}: CSAT answered {cells[2]!r}, report {csat['count']} of {csat['asked']}")
    if score_differs(cells[3], nps["score"]):
        problems.append(f"{where}: NPS {cells[3]!r}, report {nps['score']}")
    if numbers(cells[4]) != [nps["count"], nps["asked"]]:
        problems.append(f"{where}: NPS answered {cells[4]!r}, report {nps['count']} of {nps['asked']}")
    return problems


def differences(shown: dict[str, Any], report: dict[str, Any], lang: str) -> list[str]:
    """Where the card and the report disagree (empty when the card shows the report)."""
    csat, nps = report["all"]["csat"], report["all"]["nps"]
    problems = []
    if mean_differs(shown["mean"], csat["mean"]):
        problems.append(f"CSAT mean {shown['mean']!r}, report {csat['mean']}")
    if answered_differs(shown["answered"], csat):
        problems.append(f"CSAT answered {shown['answered']!r}, report {csat}")
    dist = [csat["distribution"][str(s)] for s in range(1, 6)] if csat["count"] else []
    if [numbers(x) for x in shown["dist"]] != [[n] for n in dist]:
        problems.append(f"distribution {shown['dist']}, report {dist}")
    if score_differs(shown["nps"], nps["score"]):
        problems.append(f"NPS {shown['nps']!r}, report {nps['score']}")
    if answered_differs(shown["npsAnswered"], nps):
        problems.append(f"NPS answered {shown['npsAnswered']!r}, report {nps}")
    for part in ("promoters", "passives", "detractors"):
        if numbers(shown[part]) != [nps[part]]:
            problems.append(f"{part} {shown[part]!r}, report {nps[part]}")
    if sorted(shown["sla"]) != ["breached", "met", "none"]:
        problems.append(f"SLA rows {sorted(shown['sla'])}")
    for outcome, cells in shown["sla"].items():
        if cells[0] != OUTCOMES[lang][outcome]:
            problems.append(f"SLA row {outcome} named {cells[0]!r}")
        problems += row_differences(f"SLA {outcome}", cells, csat["by_sla"][outcome], nps["by_sla"][outcome])
    if shown["groupHead"] != BY_WORDS[lang][report["by"]]:
        problems.append(f"groups headed {shown['groupHead']!r} for by={report['by']}")
    if [g[0] for g in shown["groups"]] != list(report["groups"]):
        problems.append(f"groups {[g[0] for g in shown['groups']]}, report {list(report['groups'])}")
    for group, *cells in shown["groups"]:
        f = report["groups"].get(group)
        if f is None:
            continue
        if cells[0] != (label(group, lang) if report["by"] == "channel" else group):
            problems.append(f"group {group} named {cells[0]!r}")
        problems += row_differences(f"group {group}", cells, f["csat"], f["nps"])
    days = report["series"]
    if shown["csatPoints"] != sum(1 for d in days if d["csat"]["count"]) or shown["npsPoints"] != sum(1 for d in days if d["nps"]["count"]):
        problems.append(f"chart points csat {shown['csatPoints']} nps {shown['npsPoints']}, report series {days}")
    if [x["survey"] for x in shown["low"]] != [x["survey_id"] for x in report["low"]]:
        problems.append(f"low {[x['survey'] for x in shown['low']]}, report {[x['survey_id'] for x in report['low']]}")
    for row, x in zip(shown["low"], report["low"]):
        score, agent, channel, comment = row["cells"][:4]
        if numbers(score) != [x["score"], 5] or agent != (x["agent"] or NOBODY[lang]) or channel != label(x["channel"], lang) or comment != x["comment"]:
            problems.append(f"low row {row}, report {x}")
        if row["href"] != f"/#conversation={x['conversation_id']}":
            problems.append(f"low row {x['survey_id']} links to {row['href']!r}")
    return problems


async def fetched(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], query: str) -> dict[str, Any]:
    async with http.get(f"{hub.url}/api/v1/reports/satisfaction?{query}", headers=auth) as r:
        assert r.status == 200, await r.text()
        body: dict[str, Any] = await r.json()
        return body


async def card_shows_the_report(page: Page, http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], query: str, lang: str,
                                timeout: float = 90) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card and the report fetched with the page's query, once they agree; fails after
    `timeout` seconds with the differences (surveys may still be arriving from the other
    tests: the page catches up on its next refresh, every 15 s at most)."""
    deadline = time.monotonic() + timeout
    while True:
        report = await fetched(http, hub, auth, query)
        shown = await page.evaluate(CARD)
        problems = differences(shown, report, lang)
        if not problems:
            return shown, report
        if time.monotonic() > deadline:
            raise AssertionError(f"the card ({lang}) does not show the report: {problems}\nshown: {shown}\nreport: {report}")
        await asyncio.sleep(1)


async def screenshot(page: Page, tmp_path: Path, lang: str) -> None:
    path = tmp_path / f"manager-{lang}.png"
    await page.locator("#satisfaction-card").screenshot(path=str(path))
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.copy(path, SCREENSHOTS / path.name)


async def test_the_satisfaction_card_shows_the_report_in_english_and_persian(survey_hub: Hub, tmp_path: Path) -> None:
    hub = survey_hub
    events, low = seeded(datetime.now(timezone.utc), uuid.uuid4().hex[:8])
    await project(hub.db_url, events)
    xss_conversation = next(e.conversation_id for e in events if isinstance(e, ev.SurveyAnswered) and e.comment == XSS)
    async with aiohttp.ClientSession() as http, chromium() as browser:
        auth = await lead_auth(http, hub)
        page = await browser.new_page(viewport={"width": 1280, "height": 3000})  # the whole card in view for its screenshots
        dialogs = record_dialogs(page)
        await page.goto(hub.url + "/manager")
        await page.fill("#login-username", "maria")
        await page.fill("#login-password", "maria-pw")
        async with page.expect_response(lambda r: "/api/v1/reports/satisfaction" in r.url, timeout=60_000) as got:
            await page.click("#login-submit")
        response = await got.value
        assert response.status == 200
        query = urlsplit(response.url).query
        assert sorted(query.split("&")) == ["by=channel", "tz=UTC"], query  # English, Gregorian: UTC days

        shown, report = await card_shows_the_report(page, http, hub, auth, query, "en")
        # what the test wrote is in the report it compared against
        assert set(low.values()) <= {x["survey_id"] for x in report["low"]}, report["low"]
        assert report["all"]["csat"]["by_sla"]["met"]["count"] >= 2 and report["all"]["csat"]["by_sla"]["breached"]["count"] >= 2, report["all"]
        assert report["all"]["nps"]["count"] >= 2 and shown["csatPoints"] >= 2, (report["all"], shown)
        xss_row = next(x for x in shown["low"] if x["survey"] == low[XSS])
        assert xss_row["cells"][3] == XSS and xss_row["href"] == f"/#conversation={xss_conversation}", xss_row
        assert next(x for x in shown["low"] if x["survey"] == low[PERSIAN_COMMENT])["cells"][3] == PERSIAN_COMMENT
        assert await page.evaluate(INJECTED) == {"xss": None, "elements": 0}
        assert shown["times"] == sorted(shown["times"]) and len(set(shown["times"])) > 1, shown["times"]  # time runs left to right
        assert await page.inner_text("#satisfaction-card h2 [data-i18n=satisfaction]") == "Customer satisfaction"
        await screenshot(page, tmp_path, "en")

        # by agent and back: one answer each, the groups the answer has
        for by in ("agent", "channel"):
            async with page.expect_response(lambda r, by=by: "/api/v1/reports/satisfaction" in r.url and f"by={by}" in r.url, timeout=60_000) as got:
                await page.select_option("#sat-by", by)
            query = urlsplit((await got.value).url).query
            shown, report = await card_shows_the_report(page, http, hub, auth, query, "en")
            assert report["by"] == by and shown["groups"], shown
            if by == "agent":
                assert {"alice", "omid"} <= {g[0] for g in shown["groups"]}, shown["groups"]

        # Persian: the card asks again for Tehran's days, and shows Persian digits right to left
        async with page.expect_response(lambda r: "/api/v1/reports/satisfaction" in r.url and "tz=Asia%2FTehran" in r.url, timeout=60_000) as got:
            await page.click("#lang-toggle")
        query = urlsplit((await got.value).url).query
        assert sorted(query.split("&")) == ["by=channel", "tz=Asia%2FTehran"], query
        assert await page.get_attribute("html", "dir") == "rtl"
        shown, report = await card_shows_the_report(page, http, hub, auth, query, "fa")
        assert report["tz"] == "Asia/Tehran"
        assert await page.inner_text("#satisfaction-card h2 [data-i18n=satisfaction]") == "رضایت مشتری"
        figures = [shown["mean"], shown["answered"], shown["nps"], shown["npsAnswered"], *shown["dist"], *(c for row in shown["sla"].values() for c in row)]
        assert not any(ch.isascii() and ch.isdigit() for text in figures for ch in text), figures  # every figure in Persian digits
        assert any(ch in "۰۱۲۳۴۵۶۷۸۹" for ch in shown["mean"] + shown["answered"]), shown
        assert shown["times"] == sorted(shown["times"], reverse=True) and len(set(shown["times"])) > 1, shown["times"]  # time runs right to left
        xss_row = next(x for x in shown["low"] if x["survey"] == low[XSS])
        assert xss_row["cells"][3] == XSS and xss_row["cells"][2] == label("sms", "fa"), xss_row
        assert await page.evaluate(INJECTED) == {"xss": None, "elements": 0}
        await screenshot(page, tmp_path, "fa")

        # the low score's link opens its conversation on the agent page, in a new tab
        async with page.expect_popup(timeout=60_000) as opened:
            await page.locator(f"#sat-low tr[data-survey='{low[XSS]}'] a").click()
        agent_page = await opened.value
        await agent_page.wait_for_selector(f"#messages[data-conv='{xss_conversation}']", timeout=60_000)
        assert await agent_page.locator("#messages").inner_text() != ""
        await agent_page.close()
        await page.close()
    assert dialogs == []
