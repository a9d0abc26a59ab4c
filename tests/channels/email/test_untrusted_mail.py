"""Hostile mail against a real hub: refused with the reason over SMTP and flagged over IMAP,
counted, never taken; parsed in a worker process of the web role, not in the web process;
and the flood of the report (45,000 one-byte attachments, ~8.9 MB) refused while /healthz
keeps answering. (Named to run after test_mailbox.py, whose counts of the shared hub are
absolute.)"""

from __future__ import annotations

import asyncio
import json
import time
from email.message import EmailMessage
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import pytest

from hub import events as ev
from hub.broker import free_port
from tests.channels.email import mails
from tests.channels.email.conftest import Dovecot, conversation_with, smtp_deliver
from tests.support import Hub, eventually
from tests.support.probes import HealthPoll

pytestmark = pytest.mark.integration


def many_parts(parts: int, message_id: str) -> bytes:
    leaves = "".join(f"--B\r\nContent-Type: text/plain\r\n\r\nleaf {i}\r\n" for i in range(parts - 1))
    return (f"From: parts@customer.example\r\nTo: support@hub.example\r\nSubject: parts\r\nMessage-ID: {message_id}\r\n"
            f'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n{leaves}--B--\r\n').encode()


def deep(depth: int, message_id: str) -> bytes:
    return (f"From: deep@customer.example\r\nSubject: deep\r\nMessage-ID: {message_id}\r\n"
            + "Content-Type: message/rfc822\r\n\r\n" * depth + "From: x@y.example\r\n\r\ninner\r\n").encode()


async def metric(hub: Hub, name: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/metrics") as r:
        text = await r.text()
    return next((int(float(line.split()[1])) for line in text.splitlines() if line.startswith(name + " ")), 0)


def web_log(hub: Hub, event: str) -> list[dict]:
    out = []
    for line in hub.logs("web").splitlines():
        if line.startswith("{") and f'"event": "{event}"' in line:
            out.append(json.loads(line))
    return out


def parent_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no PPid for {pid}")


async def test_structure_over_the_limits_is_refused_over_smtp_with_the_reason_and_counted(email_hub: Hub) -> None:
    before = await metric(email_hub, "hub_email_rejected_total")
    code, words = await smtp_deliver(email_hub, many_parts(201, "<parts-201@customer.example>"), "parts@customer.example")
    assert (code, words.startswith("5.6.0 the message has over 200 MIME parts")) == (554, True), words
    code, words = await smtp_deliver(email_hub, deep(25, "<deep-25@customer.example>"), "deep@customer.example")
    assert code == 554 and "over 20 deep" in words, words
    headers = "".join(f"X-Trace-{i}: hop\r\n" for i in range(1001))
    flooded = f"From: hdr@customer.example\r\nSubject: headers\r\n{headers}\r\nbody\r\n".encode()
    code, words = await smtp_deliver(email_hub, flooded, "hdr@customer.example")
    assert code == 554 and "over 1000 header lines" in words, words
    assert await metric(email_hub, "hub_email_rejected_total") == before + 3
    refused = [e for e in web_log(email_hub, "mail refused: not a mail the hub can read") if e.get("kind") == "TooComplex"]
    assert len(refused) >= 3 and all("leaf" not in e["reason"] and "hop" not in e["reason"] for e in refused)
    # 200 parts is within the limit: taken
    assert (await smtp_deliver(email_hub, many_parts(200, "<parts-200@customer.example>"), "parts@customer.example"))[0] == 250


async def test_structure_over_the_limits_is_flagged_over_imap_and_the_next_mail_flows(email_hub: Hub, dovecot: Dovecot) -> None:
    before = await metric(email_hub, "hub_email_rejected_total")
    await dovecot.deliver(many_parts(201, "<imap-parts-201@customer.example>"))
    await dovecot.deliver(mails.plain("next@customer.example", "After the flood", "The mailbox kept flowing.", message_id="<imap-next@customer.example>"))
    async with aiohttp.ClientSession() as http:
        auth = await email_hub.login(http)
        await eventually(lambda: conversation_with(http, email_hub, auth, "The mailbox kept flowing."), timeout=60)

    async def flagged() -> str | None:
        flags = (await dovecot.flags()).get("<imap-parts-201@customer.example>", "")
        return flags if "$HubRejected" in flags else None

    flags = await eventually(flagged, timeout=60)
    assert "\\Seen" in flags  # type: ignore[operator]
    assert await metric(email_hub, "hub_email_rejected_total") == before + 1
    assert any("over 200 MIME parts" in e.get("reason", "") for e in web_log(email_hub, "imap mail rejected and flagged"))


async def test_mail_is_parsed_in_a_worker_process_of_the_web_role(email_hub: Hub) -> None:
    raw = mails.plain("pid@customer.example", "Where am I read", "Parsed in which process?", message_id="<pid-check@customer.example>")
    assert (await smtp_deliver(email_hub, raw, "pid@customer.example"))[0] == 250
    event_id = ev.derived_id("email", "pid-check@customer.example")
    parsed = await eventually(lambda: _parsed(email_hub, event_id))
    web = email_hub.procs["web"].pid
    assert parsed["parser_pid"] != web
    assert parent_of(parsed["parser_pid"]) == web  # a worker the web process started, still there for the next mail
    assert parsed["edge"] == "smtp" and parsed["parts"] == 1


async def test_an_agent_opens_an_attachment_through_the_mail_readers(email_hub: Hub) -> None:
    pdf = b"%PDF-1.4 opened through the mail readers " + bytes(range(256)) * 4
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"], mail["Message-ID"] = "files@customer.example", "support@hub.example", "The scan", "<scan@customer.example>"
    mail.set_content("The scan you asked for is attached.")
    mail.add_attachment(pdf, maintype="application", subtype="pdf", filename="scan.pdf")
    assert (await smtp_deliver(email_hub, mail.as_bytes(), "files@customer.example"))[0] == 250
    async with aiohttp.ClientSession() as http:
        auth = await email_hub.login(http)
        conv = await eventually(lambda: conversation_with(http, email_hub, auth, "The scan you asked for"))
        message = next(m for m in conv["messages"] if "The scan you asked for" in m["text"])
        assert message["attachments"][0]["filename"] == "scan.pdf"
        async with http.get(f"{email_hub.url}/api/v1/messages/{message['id']}/attachments/0", headers=auth) as r:
            assert r.status == 200, await r.text()
            assert await r.read() == pdf and "scan.pdf" in r.headers["Content-Disposition"]
        async with http.get(f"{email_hub.url}/api/v1/messages/{message['id']}/attachments/1", headers=auth) as r:
            assert r.status == 404


async def _parsed(hub: Hub, event_id: str) -> dict | None:
    return next((e for e in web_log(hub, "email parsed") if e.get("event_id") == event_id), None)


@pytest.fixture(scope="module")
async def flood_hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    """A hub with the default HUB_EMAIL_MAX_BYTES (10 MiB), which the 8.9 MB flood is under;
    the package's hub takes 200 KB at most."""
    listen = free_port()
    h = Hub(Path(tmp_path_factory.mktemp("flood")), extra_env={"HUB_SMTP_LISTEN": f"127.0.0.1:{listen}", "HUB_EMAIL_FROM": "support@hub.example"})
    h.smtp_port = listen  # type: ignore[attr-defined]
    try:
        await h.start()
        yield h
    finally:
        h.stop()


async def test_the_flood_of_the_report_is_refused_while_healthz_keeps_answering(flood_hub: Hub) -> None:
    raw = mails.many_attachments(45_000, "<flood-1@attacker.example>")
    assert 8_500_000 < len(raw) < 10 * 1024 * 1024
    before = await metric(flood_hub, "hub_email_rejected_total")
    poll = HealthPoll(flood_hub.url)
    poll.start()
    await asyncio.sleep(0.2)
    sent = time.monotonic()
    code, words = await smtp_deliver(flood_hub, raw, "flood@attacker.example")
    done = time.monotonic()
    await poll.stop()

    during = poll.between(sent, done)
    print(f"\nflood: {code} {words!r} after {done - sent:.2f} s; /healthz answered {during['healthz_answers']} times during it, "
          f"max {during['healthz_max_ms']:.0f} ms")
    assert code == 554 and "over 200 MIME parts" in words, words
    assert all(status == 200 for _, _, status in poll.answers), [a for a in poll.answers if a[2] != 200]
    assert during["healthz_answers"] >= 5 and during["healthz_failed"] == 0
    assert await metric(flood_hub, "hub_email_rejected_total") == before + 1
    refused = web_log(flood_hub, "mail refused: not a mail the hub can read")
    assert refused and refused[-1]["kind"] == "TooComplex" and refused[-1]["size"] == len(raw)
    # and the hub still takes mail
    ok = mails.plain("after@customer.example", "After the flood", "Still taking mail.", message_id="<after-flood@customer.example>")
    assert (await smtp_deliver(flood_hub, ok, "after@customer.example"))[0] == 250


async def test_a_mail_of_too_many_lines_is_refused_as_too_large(flood_hub: Hub) -> None:
    raw = b"From: lines@customer.example\r\nSubject: lines\r\nMessage-ID: <lines@customer.example>\r\n\r\n" + b"a\r\n" * 600_000
    code, words = await smtp_deliver(flood_hub, raw, "lines@customer.example")
    assert code == 552 and words.startswith("5.3.4 the message has over 500000 lines"), words
