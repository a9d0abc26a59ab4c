"""What each inbound edge answers for each way a mail cannot be taken now or ever: the SMTP
listener's reply codes and the IMAP poller's pass, with `take` standing in (no sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope, Session

from channels.email import imap, pool, smtp_listener
from channels.email.parse import BadMail, TooComplex, TooLarge
from channels.email.settings import ImapTarget
from hub.bus import BrokerUnavailable


class FakeCore:
    def __init__(self) -> None:
        self.stopping = False
        self.counters: dict[str, int] = {}

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n


@pytest.mark.parametrize(
    ("raised", "answer", "counted"),
    [
        (TooLarge("the message has over 500000 lines"), "552 5.3.4 the message has over 500000 lines", "hub_email_rejected_total"),
        (TooComplex("the message has over 200 MIME parts"), "554 5.6.0 the message has over 200 MIME parts", "hub_email_rejected_total"),
        (TooComplex("the message cannot be read in time: reading it took over 30 s"),
         "554 5.6.0 the message cannot be read in time: reading it took over 30 s", "hub_email_rejected_total"),
        (BadMail("the message has no From address"), "554 5.6.0 the message has no From address", "hub_email_rejected_total"),
        (pool.Busy("2 mails are being read and 8 are waiting"), "451 4.3.2 busy: too many mails being read; try again later", "hub_email_deferred_total"),
        (pool.Closed("the mail reader is shutting down"), "421 4.3.2 the hub is shutting down; try again later", None),
        (BrokerUnavailable("no ack"), "451 4.3.0 not stored: the hub cannot store mail right now; try again later", None),
    ],
)
async def test_the_smtp_listener_answers_each_refusal_with_its_code(monkeypatch: pytest.MonkeyPatch, raised: Exception, answer: str,
                                                                    counted: str | None) -> None:
    async def take(*_: Any, **__: Any) -> Any:
        raise raised

    monkeypatch.setattr(smtp_listener, "take", take)
    core = FakeCore()
    envelope = Envelope()
    envelope.mail_from, envelope.rcpt_tos, envelope.original_content = "a@b.example", ["support@hub.example"], b"From: a@b.example\r\n\r\nx\r\n"
    reply = await smtp_listener._Handler(core).handle_DATA(None, Session(asyncio.get_running_loop()), envelope)  # type: ignore[arg-type]
    assert reply == answer
    assert core.counters == ({counted: 1} if counted else {})


async def test_the_imap_pass_stops_at_busy_and_leaves_the_rest_unseen(monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[str] = []

    async def one(self: imap.ImapPoller, client: Any, uid: str) -> None:
        tried.append(uid)
        if uid == "2":
            raise pool.Busy("busy")

    class Found:
        result = "OK"
        lines = [bytearray(b"1 2 3")]

    class Client:
        async def uid_search(self, *_: Any, **__: Any) -> Found:
            return Found()

    monkeypatch.setattr(imap.ImapPoller, "one", one)
    core = FakeCore()
    poller = imap.ImapPoller(core, ImapTarget("127.0.0.1", 143, False, "u", "p", "INBOX"))  # type: ignore[arg-type]
    await poller.drain(Client())  # type: ignore[arg-type]
    assert tried == ["1", "2"] and core.counters == {"hub_email_deferred_total": 1}
