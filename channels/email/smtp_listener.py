"""HUB_SMTP_LISTEN: an SMTP server (aiosmtpd) on the web role's own loop that takes mail
for the hub. It answers 250 only once the broker acknowledged the message; 451 while the
broker is away (the sending server retries); 552 over HUB_EMAIL_MAX_BYTES (aiosmtpd
refuses it while it streams in); 554 for bytes that are not a mail, with the reason."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, Envelope, Session

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
            log.warning("mail refused: too large", extra={"peer": str(session.peer), "size": len(raw)})
            return f"552 5.3.4 {exc}"
        except BadMail as exc:
            self.hub.count("hub_email_rejected_total")
            log.warning("mail refused: not a mail the hub can read", extra={"peer": str(session.peer), "reason": str(exc)})
            return f"554 5.6.0 {exc}"
        except BrokerUnavailable:
            return "451 4.3.0 not stored: the hub cannot store mail right now; try again later"
        except Exception:  # noqa: BLE001 - the sender must retry rather than lose the mail
            log.exception("mail not taken", extra={"peer": str(session.peer)})
            return "451 4.3.0 not stored: internal error; try again later"
        return f"250 2.0.0 {taken.outcome}"


class SmtpListener:
    def __init__(self, server: asyncio.base_events.Server) -> None:
        self.server = server

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


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
    return SmtpListener(server)
