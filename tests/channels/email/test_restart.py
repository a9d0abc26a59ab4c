"""The hub killed between fetching a mail and the broker's acknowledgement: the mail is not
flagged (or not answered 250), is taken again after the restart, and is one message."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import pytest

from tests.channels.email import mails
from tests.channels.email.conftest import Dovecot, Outbox, conversation_with, running_dovecot, running_email_hub, running_outbox, smtp_deliver
from tests.support import PRODUCTION_SESSIONS, Hub, eventually

pytestmark = pytest.mark.integration

# These tests freeze the broker and kill the web role: they get a mailbox, an outbox and a hub
# of their own, so what they leave behind never reaches the package's other tests.
dovecot = pytest.fixture(scope="module", name="dovecot")(running_dovecot)
outbox = pytest.fixture(scope="module", name="outbox")(running_outbox)


@pytest.fixture(scope="module")
async def email_hub(tmp_path_factory: pytest.TempPathFactory, dovecot: Dovecot, outbox: Outbox) -> AsyncIterator[Hub]:
    async for h in running_email_hub(Path(tmp_path_factory.mktemp("email-restart")), dovecot, outbox, PRODUCTION_SESSIONS):
        yield h


async def _taken_once(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], text: str) -> None:
    detail = await eventually(lambda: conversation_with(http, hub, auth, text), timeout=60)
    await asyncio.sleep(1.5)  # a duplicate, if one were published, lands in this time
    detail = await conversation_with(http, hub, auth, text)
    assert [m["text"] for m in detail["messages"]].count(text) == 1


async def _fetch_started(hub: Hub, marker: str, offset: int) -> bool:
    return marker in hub.logs("web")[offset:]


async def test_web_killed_between_imap_fetch_and_broker_ack_takes_the_mail_once_after_restart(email_hub: Hub, dovecot: Dovecot) -> None:
    text = "Killed before the ack: this mail must arrive exactly once."
    broker = email_hub.broker.process.pid  # type: ignore[union-attr]
    os.kill(broker, signal.SIGSTOP)  # the publish cannot be acknowledged now
    try:
        offset = len(email_hub.logs("web"))
        await dovecot.deliver(mails.plain("kim@customer.example", "Crash test", text, message_id="<crash-imap@customer.example>"))
        # The poller has the mail and is waiting on the broker: it is still unseen.
        await eventually(lambda: _fetch_started(email_hub, '"imap mail fetched"', offset))
        assert await _unseen(dovecot, "<crash-imap@customer.example>")
        email_hub.kill("web")
    finally:
        os.kill(broker, signal.SIGCONT)
    assert "\\Seen" not in (await dovecot.flags())["<crash-imap@customer.example>"]
    email_hub.spawn("web")
    await email_hub.wait_ready()
    async with aiohttp.ClientSession() as http:
        auth = await email_hub.login(http)
        await _taken_once(http, email_hub, auth, text)
    assert "\\Seen" in (await dovecot.flags())["<crash-imap@customer.example>"]


async def test_smtp_sender_gets_no_250_while_the_broker_is_away_and_its_retry_is_stored_once(email_hub: Hub) -> None:
    text = "Sent while the broker was frozen; retried by the sending server."
    raw = mails.plain("lina@customer.example", "Frozen broker", text, message_id="<crash-smtp@customer.example>")
    broker = email_hub.broker.process.pid  # type: ignore[union-attr]
    os.kill(broker, signal.SIGSTOP)
    try:
        code, words = await smtp_deliver(email_hub, raw, "lina@customer.example")
    finally:
        os.kill(broker, signal.SIGCONT)
    assert code == 451, words  # after the 10 s publish timeout: the sender keeps the mail and retries
    await email_hub.wait_ready()
    assert (await smtp_deliver(email_hub, raw, "lina@customer.example"))[0] == 250
    async with aiohttp.ClientSession() as http:
        auth = await email_hub.login(http)
        await _taken_once(http, email_hub, auth, text)


async def test_the_poller_reconnects_when_the_mailbox_server_restarts(email_hub: Hub, dovecot: Dovecot) -> None:
    offset = len(email_hub.logs("web"))
    dovecot.halt()  # the poller's connection drops; mail keeps arriving at the (restarted) server
    await eventually(lambda: _fetch_started(email_hub, '"imap session ended"', offset))
    dovecot.start()
    text = "Delivered after the mailbox server restarted."
    await dovecot.deliver(mails.plain("ron@customer.example", "After restart", text, message_id="<after-restart@customer.example>"))
    async with aiohttp.ClientSession() as http:
        auth = await email_hub.login(http)
        await _taken_once(http, email_hub, auth, text)
    assert '"imap connected"' in email_hub.logs("web")[offset:]


async def _unseen(dovecot: Dovecot, message_id: str) -> bool:
    flags = (await dovecot.flags()).get(message_id)
    return flags is not None and "\\Seen" not in flags
