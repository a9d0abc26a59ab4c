"""HUB_IMAP_URL: a poller (aioimaplib) on the web role's loop that takes unseen mail.

Each unseen mail is fetched with BODY.PEEK[] (fetching does not mark it read), taken
(stored and published), and only after the broker acknowledged it is flagged \\Seen. A
crash in between leaves it unseen: it is fetched again, and its Message-ID-derived id makes
the repeat one message. A mail over HUB_EMAIL_MAX_BYTES, or one that is not a mail, is
flagged `\\Seen $HubRejected` (left in the mailbox for a person to look at), logged and
counted in hub_email_rejected_total; the next mail flows. The mail is parsed in
channels/email/pool.py's worker processes; when every one is busy the rest of the unseen
mail stays unseen for the next pass. The poller waits in IDLE where the server offers it,
else polls every few seconds, and reconnects with backoff."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

import aioimaplib

from channels.email import pool
from channels.email.inbound import take
from channels.email.parse import BadMail
from channels.email.settings import EmailSettings, ImapTarget
from hub.bus import BrokerUnavailable

if TYPE_CHECKING:
    from hub.core import Core

log = logging.getLogger("hub.email.imap")
REJECTED = "$HubRejected"
POLL_SECONDS = 5.0
IDLE_SECONDS = 25.0  # re-issued well inside the 29 minutes RFC 2177 allows; also a safety poll
BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapFailed(RuntimeError):
    """The server refused a command; the session is restarted."""


def _ok(response: aioimaplib.Response, what: str) -> aioimaplib.Response:
    if response.result != "OK":
        raise ImapFailed(f"{what}: {response.result} {b' '.join(bytes(x) for x in response.lines[-1:]).decode(errors='replace')}")
    return response


class ImapPoller:
    def __init__(self, hub: "Core", target: ImapTarget) -> None:
        self.hub = hub
        self.target = target
        self.task: asyncio.Task[None] | None = None
        self.client: aioimaplib.IMAP4 | None = None
        self.failures = 0
        self.readers: pool.MailPool | None = None

    def start(self) -> None:
        self.readers = pool.shared().attach()
        self.task = asyncio.create_task(self.run(), name="imap-poller")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        await self._close()
        if self.readers is not None:
            readers, self.readers = self.readers, None
            await readers.detach()

    async def run(self) -> None:
        self.failures = 0
        while True:
            try:
                await self.session()
            except asyncio.CancelledError:
                raise
            except BrokerUnavailable:
                log.warning("imap: broker away; mail stays unseen and is fetched again", extra={"mailbox": self.target.mailbox})
            except Exception as exc:  # noqa: BLE001 - a dropped connection or refusal: reconnect
                log.warning("imap session ended", extra={"mailbox": self.target.mailbox, "error": f"{type(exc).__name__}: {exc}"})
            await self._close()
            pause = BACKOFF[min(self.failures, len(BACKOFF) - 1)]
            self.failures += 1
            await asyncio.sleep(pause)

    async def _close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if client.protocol is not None and client.protocol.transport is not None:
                client.protocol.transport.close()
        except Exception:  # noqa: BLE001 - closing a dead connection
            pass

    async def session(self) -> None:
        t = self.target
        client = aioimaplib.IMAP4_SSL(t.host, t.port, timeout=30) if t.tls else aioimaplib.IMAP4(t.host, t.port, timeout=30)
        self.client = client
        await client.wait_hello_from_server()
        _ok(await client.login(t.username, t.password), "LOGIN")
        _ok(await client.select(t.mailbox), f"SELECT {t.mailbox}")
        idle = client.has_capability("IDLE")
        log.info("imap connected", extra={"mailbox": t.mailbox, "idle": idle})
        self.failures = 0  # the backoff grows only while connecting keeps failing
        while True:
            await self.drain(client)
            if idle:
                waiting = await client.idle_start(timeout=IDLE_SECONDS)
                try:
                    await client.wait_server_push(timeout=IDLE_SECONDS + 5)
                except asyncio.TimeoutError:
                    pass
                client.idle_done()
                await asyncio.wait_for(waiting, 10)
            else:
                await asyncio.sleep(POLL_SECONDS)

    async def drain(self, client: aioimaplib.IMAP4) -> None:
        found = _ok(await client.uid_search("UNSEEN", charset=None), "SEARCH UNSEEN")
        uids = [u for u in bytes(found.lines[0]).decode().split() if u.isdigit()] if found.lines else []
        for n, uid in enumerate(uids):
            try:
                await self.one(client, uid)
            except pool.Busy as exc:
                # Unseen, it is fetched again on the next pass; nothing is flagged.
                self.hub.count("hub_email_deferred_total")
                log.warning("imap: every mail reader is busy; mail left unseen for the next pass",
                            extra={"uid": uid, "left": len(uids) - n, "mailbox": self.target.mailbox, "reason": str(exc)})
                return

    async def one(self, client: aioimaplib.IMAP4, uid: str) -> None:
        sized = _ok(await client.uid("fetch", uid, "(RFC822.SIZE)"), "FETCH RFC822.SIZE")
        size_match = next((m for m in (_SIZE.search(bytes(line)) for line in sized.lines) if m), None)
        if size_match is None:
            return  # expunged meanwhile
        size = int(size_match.group(1))
        limit = EmailSettings.of(self.hub.settings).max_bytes
        if size > limit:
            await self.reject(client, uid, f"the message is {size} bytes, over the {limit}-byte limit (HUB_EMAIL_MAX_BYTES)")
            return
        fetched = _ok(await client.uid("fetch", uid, "(BODY.PEEK[])"), "FETCH BODY.PEEK[]")
        raw = next((bytes(line) for line in fetched.lines if isinstance(line, bytearray)), None)
        if raw is None:
            return
        log.info("imap mail fetched", extra={"uid": uid, "size": len(raw)})
        try:
            taken = await take(self.hub, raw, edge="imap")
        except BadMail as exc:
            await self.reject(client, uid, str(exc))
            return
        # Only now, after the broker's acknowledgement, does the mailbox hear of it.
        _ok(await client.uid("store", uid, "+FLAGS.SILENT", "(\\Seen)"), "STORE \\Seen")
        log.info("imap mail taken", extra={"uid": uid, "outcome": taken.outcome, "event_id": taken.event_id})

    async def reject(self, client: aioimaplib.IMAP4, uid: str, reason: str) -> None:
        _ok(await client.uid("store", uid, "+FLAGS.SILENT", f"(\\Seen {REJECTED})"), "STORE rejected")
        self.hub.count("hub_email_rejected_total")
        log.warning("imap mail rejected and flagged", extra={"uid": uid, "flag": REJECTED, "mailbox": self.target.mailbox, "reason": reason})


async def start(hub: "Core") -> ImapPoller | None:
    target = EmailSettings.of(hub.settings).imap
    if target is None:
        return None
    poller = ImapPoller(hub, target)
    poller.start()
    return poller
