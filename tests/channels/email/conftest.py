"""Real servers for the email channel: Debian's dovecot as the hub's IMAP mailbox, an
aiosmtpd server as the customers' mail server (it receives the hub's replies), and one
hub for the package with HUB_IMAP_URL, HUB_SMTP_LISTEN, HUB_SMTP_URL and HUB_EMAIL_FROM."""

from __future__ import annotations

import asyncio
import imaplib
import os
import shutil
import subprocess
import tempfile
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

import channels.registry  # noqa: F401 - see below
from hub.broker import free_port
from tests.support import Hub
from tests.support import conversation_with as shared_conversation_with
from tests.support.probes import send_mail

# channels.registry is imported here, at collection, for the unit tests beside it: loading
# settings imports it, it imports twilio, and urllib3's first import binds a socket to ::1
# to probe for IPv6, which the unit layer refuses (tests/conftest.py) when no earlier
# module imported it.

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "support", "mailbox-pw"
HUB_FROM = "support@hub.example"

DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = hubtest-{port}
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 0
log_path = {root}/dovecot.log
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    """One dovecot instance in a temporary directory (root: world-readable, so dovecot's
    unprivileged users can reach it; pytest's own tmp dirs are private to root)."""

    def __init__(self) -> None:
        if not os.path.exists(DOVECOT):
            raise RuntimeError(f"dovecot is not installed at {DOVECOT}: run `make .venv` (it installs dovecot-imapd through .ci/system-deps.sh)")
        self.root = Path(tempfile.mkdtemp(prefix="hub-dovecot-"))
        self.port = free_port()
        os.chmod(self.root, 0o755)
        for d in ("run", "state", "mail", "home"):
            (self.root / d).mkdir()
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (self.root / "dovecot.conf").write_text(DOVECOT_CONF.format(root=self.root, port=self.port))
        shutil.chown(self.root / "mail", "dovecot", "dovecot")
        shutil.chown(self.root / "home", "dovecot", "dovecot")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = open(self.root / "stdout.log", "ab")
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited {self.process.returncode}: {(self.root / 'stdout.log').read_text()[-2000:]}")
            try:
                with self.connect():
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dovecot did not accept IMAP connections within 20 s")

    def halt(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"imap://{USER}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port)
        client.login(USER, PASSWORD)
        client.select("INBOX")
        return client

    def _append(self, raw: bytes) -> None:
        with self.connect() as client:
            typ, data = client.append("INBOX", None, None, raw)
            assert typ == "OK", data

    async def deliver(self, raw: bytes) -> None:
        """Puts a mail into the mailbox, as the mail server in front of it would."""
        await asyncio.to_thread(self._append, raw)

    def _flags(self) -> dict[str, str]:
        """Message-ID header -> the mail's flags, for every mail in the mailbox."""
        with self.connect() as client:
            typ, data = client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        out: dict[str, str] = {}
        for item in data:
            if isinstance(item, tuple):
                head = BytesParser(policy=policy.default).parsebytes(item[1])
                out[str(head.get("Message-ID", "")).strip()] = item[0].decode()
        return out

    async def flags(self) -> dict[str, str]:
        return await asyncio.to_thread(self._flags)


class Outbox:
    """The customers' mail server: every mail the hub sends lands here, parsed. An address
    containing "refuse" is refused permanently (550), "later" temporarily (451)."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:  # noqa: N802
        if "refuse" in address:
            return "550 5.1.1 mailbox unavailable"
        if "later" in address:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.received.append(BytesParser(policy=policy.default).parsebytes(envelope.original_content or b""))
        self.envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if address in str(m["To"])]


def running_dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def running_outbox() -> Iterator[Outbox]:
    box = Outbox()
    box.controller.start()
    try:
        yield box
    finally:
        box.controller.stop()


dovecot = pytest.fixture(scope="package", name="dovecot")(running_dovecot)
outbox = pytest.fixture(scope="package", name="outbox")(running_outbox)
MAX_BYTES = 200_000


async def running_email_hub(tmp: Path, dovecot: Dovecot, outbox: Outbox, extra_env: dict[str, str] | None = None) -> AsyncIterator[Hub]:
    listen = free_port()
    env = {"HUB_IMAP_URL": dovecot.url, "HUB_SMTP_LISTEN": f"127.0.0.1:{listen}", "HUB_SMTP_URL": outbox.url,
           "HUB_EMAIL_FROM": HUB_FROM, "HUB_EMAIL_MAX_BYTES": str(MAX_BYTES), **(extra_env or {})}
    h = Hub(tmp, extra_env=env)
    h.smtp_port = listen  # type: ignore[attr-defined]
    try:
        await h.start()
        yield h
    finally:
        h.stop()


@pytest.fixture(scope="package")
async def email_hub(tmp_path_factory: pytest.TempPathFactory, dovecot: Dovecot, outbox: Outbox) -> AsyncIterator[Hub]:
    async for h in running_email_hub(Path(tmp_path_factory.mktemp("email")), dovecot, outbox):
        yield h


async def smtp_deliver(hub: Hub, raw: bytes, sender: str, recipients: list[str] | None = None) -> tuple[int, str]:
    """Hands a mail to the hub's SMTP listener as a sending mail server would; returns the
    server's answer to the DATA (or the refusal of it)."""
    return await send_mail("127.0.0.1", hub.smtp_port, raw, sender, recipients or [HUB_FROM])  # type: ignore[attr-defined]


async def conversation_with(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], text: str) -> Any:
    """The detail of the email conversation holding a message whose text contains `text`."""
    return await shared_conversation_with(http, hub, auth, text, channel="email", contains=True)


async def all_email_conversations(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str]) -> list[Any]:
    async with http.get(f"{hub.url}/api/v1/conversations?channel=email", headers=auth) as r:
        return (await r.json())["conversations"]


async def reply_as_agent(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conv_id: str, text: str) -> str:
    async with http.post(f"{hub.url}/api/v1/conversations/{conv_id}/replies", headers=auth, json={"text": text}) as r:
        assert r.status == 202, await r.text()
        return (await r.json())["id"]


async def message_in(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], conv_id: str, mid: str) -> Any:
    async with http.get(f"{hub.url}/api/v1/conversations/{conv_id}", headers=auth) as r:
        return next((m for m in (await r.json())["messages"] if m["id"] == mid), None)


async def received_by(outbox: Outbox, address: str, text: str) -> list[EmailMessage]:
    return [m for m in outbox.to(address) if text in m.get_body(("plain",)).get_content()]  # type: ignore[union-attr]
