"""The step both inbound edges share: mail bytes -> original stored -> an event published.
It returns only once the broker acknowledged; the IMAP poller flags the mail and the SMTP
listener answers 250 after that, never before.

Dedupe: the event id comes from the Message-ID (a hash of the bytes when there is none),
so the same mail fetched twice, or received over both edges, is one message.

The bytes are parsed in channels/email/pool.py's worker processes, never on the web role's
loop, within parse.py's limits; `take` raises pool.Busy when no worker can take the mail
now (the edge defers it) and BadMail when the mail is over a limit or took too long."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from channels.base import accept_inbound, resolve_contact
from channels.email import pool, threads
from channels.email.parse import BadMail, Limits, ParsedMail, Reading, TooComplex, TooLarge, read_mail
from channels.email.settings import EmailSettings
from hub import events as ev
from hub import topics
from hub.events import utcnow
from hub.store import lookups
from hub.store.models import Conversation

if TYPE_CHECKING:
    from hub.core import Core

log = logging.getLogger("hub.email")


@dataclass(frozen=True)
class Taken:
    """What became of one mail: `accepted` (a message event), `bounce` (DeliveryFailed for
    our reply), or `ignored` (automatic mail or a report with nothing to attach to: logged
    and counted, never answered)."""

    outcome: str
    event_id: str = ""
    detail: str = ""


def event_id_of(parsed: ParsedMail) -> str:
    return ev.derived_id("email", parsed.dedupe_key)


async def take(hub: "Core", raw: bytes, *, edge: str, envelope_sender: str | None = None, envelope_recipients: list[str] | None = None) -> Taken:
    """Raises BadMail (TooLarge, TooComplex) for mail the hub cannot take, pool.Busy (or
    pool.Closed while stopping) when it cannot read it now, and BrokerUnavailable when the
    broker did not acknowledge; in all of them nothing may be acknowledged as taken."""
    limit = EmailSettings.of(hub.settings).max_bytes
    if len(raw) > limit:
        raise TooLarge(f"the message is {len(raw)} bytes, over the {limit}-byte limit (HUB_EMAIL_MAX_BYTES)")
    reading = await read(raw, limit, edge=edge, envelope_sender=envelope_sender, envelope_recipients=envelope_recipients)
    parsed = reading.mail
    if parsed.bounce is not None:
        return await _bounce(hub, parsed, edge)
    contact_id = await resolve_contact(hub.db, "email", parsed.sender)
    hint = await thread_hint(hub, parsed, contact_id)
    if parsed.automatic and (hint is None or hint["status"] == "resolved"):
        hub.count("hub_email_automatic_ignored_total")
        log.info("automatic mail ignored: it threads to no open conversation",
                 extra={"contact_id": contact_id, "reason": parsed.automatic, "edge": edge, "message_id_header": parsed.message_id[:100]})
        return Taken("ignored", detail=parsed.automatic)
    event_id = event_id_of(parsed)
    async with hub.db() as s, s.begin():
        await lookups.keep_original(s, event_id, "email", "message/rfc822", raw, utcnow())
    meta: dict[str, Any] = {
        "message_id": parsed.message_id,
        "references": (parsed.references + [i for i in parsed.in_reply_to if i not in parsed.references])[-20:],
        "edge": edge,
    }
    if parsed.display_text != parsed.text:
        meta["display_text"] = parsed.display_text
    if parsed.html_only:
        meta["html_only"] = True
    if parsed.automatic:
        meta["automatic"] = parsed.automatic
    if parsed.decode_problems:
        meta["decode_problems"] = parsed.decode_problems
    if hint is not None:
        meta["thread"] = hint
    message = ev.InboundMessageAccepted(
        id=event_id, contact_id=contact_id, channel="email", address=parsed.sender, name=parsed.name, text=parsed.text,
        subject=parsed.subject, provider_id=parsed.message_id, attachments=parsed.attachments, meta=meta,
    )
    await accept_inbound(hub.bus, message)
    hub.count("hub_inbound_messages_total")
    log.info("email accepted", extra={"contact_id": contact_id, "event_id": event_id, "edge": edge,
                                      "threaded_by": hint["by"] if hint else "new", "conversation_id": hint["conversation_id"] if hint else None})
    return Taken("accepted", event_id=event_id)


async def read(raw: bytes, limit: int, *, edge: str, envelope_sender: str | None, envelope_recipients: list[str] | None) -> Reading:
    """The mail parsed in a pool worker, within the limits (decoded bytes: HUB_EMAIL_MAX_BYTES)."""
    try:
        reading = await pool.shared().run(read_mail, raw, limit, envelope_sender, envelope_recipients, Limits(decoded_bytes=limit))
    except (BadMail, pool.Busy, pool.Closed):
        raise
    except pool.TimedOut as exc:
        raise TooComplex(f"the message cannot be read in time: {exc}") from exc
    except pool.WorkerDied as exc:
        # Alone in its worker (pool.py), the mail is what the process ended on; taking it
        # again would end the next one.
        raise BadMail(f"the message cannot be read: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - MIME bad enough to trip the parser must not stop the mailbox
        raise BadMail(f"the message cannot be read: {type(exc).__name__}: {exc}") from exc
    log.info("email parsed", extra={"edge": edge, "size": len(raw), "parts": reading.parts, "parser_pid": reading.pid,
                                    "parse_ms": round(reading.seconds * 1000, 1), "event_id": event_id_of(reading.mail)})
    return reading


async def thread_hint(hub: "Core", parsed: ParsedMail, contact_id: str) -> dict[str, str] | None:
    """The conversation this mail continues, from the read model: In-Reply-To/References
    naming our reply or an earlier mail of theirs, then the signed reply-address token,
    then the subject among this contact's conversations. Only the sender's own
    conversations count: a reference cannot put a mail into someone else's."""
    sender_from = EmailSettings.of(hub.settings).from_address
    refs = parsed.in_reply_to + [r for r in reversed(parsed.references) if r not in parsed.in_reply_to]
    ours = [m for m in (threads.message_of(r, sender_from) for r in refs) if m]
    async with hub.db() as s:
        found: tuple[str, str] | None = None
        if ours:
            conv = await lookups.conversation_of_messages(s, ours)
            found = (conv, "references") if conv else None
        if found is None and refs:
            conv = await lookups.conversation_of_provider_ids(s, "email", refs)
            found = (conv, "references") if conv else None
        if found is None:
            conv = threads.conversation_of_token(parsed.recipients, hub.settings.secret_key)
            found = (conv, "token") if conv else None
        candidates: list[Conversation] = []
        if found is not None:
            row = await lookups.conversation(s, found[0])
            candidates = [row] if row is not None else []
        elif threads.normalise_subject(parsed.subject):
            rows = await lookups.conversations_with_subjects(s, contact_id)
            wanted = threads.normalise_subject(parsed.subject)
            candidates = [c for c in rows if threads.normalise_subject(c.subject) == wanted][:1]
            found = (candidates[0].id, "subject") if candidates else None
    if not candidates or found is None:
        return None
    conv_row = candidates[0]
    if conv_row.contact_id != contact_id:
        log.warning("thread reference to another contact's conversation ignored", extra={"contact_id": contact_id, "conversation_id": conv_row.id, "by": found[1]})
        return None
    return {"conversation_id": conv_row.id, "status": "resolved" if conv_row.status == "resolved" else "open", "queue": conv_row.queue or "", "by": found[1]}


async def _bounce(hub: "Core", parsed: ParsedMail, edge: str) -> Taken:
    """A delivery report marks our reply failed, in the reply's conversation; it never opens one."""
    assert parsed.bounce is not None
    message_id = threads.message_of(parsed.bounce.original_message_id, EmailSettings.of(hub.settings).from_address)
    async with hub.db() as s:
        row = await lookups.message(s, message_id) if message_id else None
        conv = await lookups.conversation(s, row.conversation_id) if row is not None else None
    if row is None or conv is None:
        hub.count("hub_email_bounces_unmatched_total")
        log.info("delivery report for a mail we do not know ignored", extra={"edge": edge, "original": parsed.bounce.original_message_id[:100]})
        return Taken("ignored", detail="bounce of an unknown message")
    failed = ev.DeliveryFailed(
        id=ev.derived_id("bounce", row.id), contact_id=conv.contact_id, conversation_id=conv.id, message_id=row.id,
        error=f"the customer's mail server returned the reply: {parsed.bounce.diagnostic}",
    )
    await hub.bus.publish(topics.CONVERSATIONS, conv.contact_id, failed)
    hub.count("hub_email_bounces_total")
    log.info("reply bounced", extra={"conversation_id": conv.id, "contact_id": conv.contact_id, "message_id": row.id, "edge": edge})
    return Taken("bounce", event_id=failed.id, detail=parsed.bounce.diagnostic)
