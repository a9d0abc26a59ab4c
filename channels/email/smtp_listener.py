"""HUB_SMTP_LISTEN: an SMTP server (aiosmtpd) on the web role's own loop that takes mail
for the hub; the mail itself is parsed in channels/email/pool.py's worker processes, never
on the loop. It answers 250 only once the broker acknowledged the message; 451 while the
broker is away or every mail reader is busy (the sending server retries); 552 over
HUB_EMAIL_MAX_BYTES (aiosmtpd refuses it while it streams in), over the line or the
decoded-size limit; 554 for bytes that are not a mail, a mail over the limits of its structure (parts,
depth, headers) or one that could not be read in time, with the reason."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email import pool
from channels.email.inbound import TooLarge, take
from channels.email.parse import BadMail
from channels.email.settings import EmailSettings
from hub.bus import BrokerUnavailable

if TYPE_CHECKING:
    from hub.core import Core

log = logging.getLogger("hub.email.smtp")


class _Handler:
    def __init__(self, hub: "Core") -> None:
        self.hub = hub

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content or b""
        if self.hub.stopping:
            return "421 4.3.2 the hub is shutting down; try again later"
        try:
            # aiosmtpd keeps the null sender (bounces, auto-replies) as "<>"
            sender = "" if (envelope.mail_from or "").strip() in ("", "<>") else envelope.mail_from or ""
            taken = await take(self.hub, raw, edge="smtp", envelope_sender=sender, envelope_recipients=list(envelope.rcpt_tos))
        except TooLarge as exc:
            self.hub.count("hub_email_rejected_total")
            log.warning("mail refused: too large", extra={"peer": str(session.peer), "size": len(raw), "reason": str(exc), "kind": type(exc).__name__})
            return f"552 5.3.4 {reply_text(exc)}"
        except BadMail as exc:
            self.hub.count("hub_email_rejected_total")
            log.warning("mail refused: not a mail the hub can read", extra={"peer": str(session.peer), "size": len(raw), "reason": str(exc),
                                                                            "kind": type(exc).__name__})
            return f"554 5.6.0 {reply_text(exc)}"
        except pool.Busy as exc:
            self.hub.count("hub_email_deferred_total")
            log.warning("mail deferred: every mail reader is busy", extra={"peer": str(session.peer), "size": len(raw), "reason": str(exc)})
            return "451 4.3.2 busy: too many mails being read; try again later"
        except pool.Closed:
            return "421 4.3.2 the hub is shutting down; try again later"
        except BrokerUnavailable:
            return "451 4.3.0 not stored: the hub cannot store mail right now; try again later"
        except Exception:  # noqa: BLE001 - the sender must retry rather than lose the mail
            log.exception("mail not taken", extra={"peer": str(session.peer)})
            return "451 4.3.0 not stored: internal error; try again later"
        return f"250 2.0.0 {taken.outcome}"


def reply_text(exc: Exception) -> str:
    """The reason on one line: a reason may quote what the parser met, and a line break in
    an SMTP reply would let the mail write the rest of the answer."""
    return " ".join(str(exc).split())[:400]


class SmtpListener:
    def __init__(self, server: asyncio.base_events.Server, readers: pool.MailPool) -> None:
        self.server = server
        self.readers = readers

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()
        await self.readers.detach()


async def start(hub: "Core") -> SmtpListener | None:
    config = EmailSettings.of(hub.settings)
    if config.listen is None:
        return None
    host, port = config.listen
    loop = asyncio.get_running_loop()
    handler = _Handler(hub)

    def protocol() -> Any:
        return SMTP(handler, data_size_limit=config.max_bytes, hostname="contact-hub", loop=loop, timeout=120)

    server = await loop.create_server(protocol, host, port)
    log.info("smtp listener started", extra={"host": host, "port": port})
    return SmtpListener(server, pool.shared().attach())
