"""How a mail finds its conversation, as pure rules: our Message-IDs name our message ids,
a signed reply-address token names a conversation, and a subject stripped of its reply
prefixes names a thread."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|tr|rif|antw|odp|پاسخ|جواب|ارجاع|هدایت|رد)\s*(\[\d+\])?\s*[:：﹕]\s*)+", re.IGNORECASE)
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_TOKEN = re.compile(r"\+([0-9a-f]{32})([0-9a-f]{10})@", re.IGNORECASE)


def normalise_subject(subject: str) -> str:
    """"Re: RE: پاسخ: Order 12" -> "order 12": the thread's name without reply or forward marks."""
    return " ".join(_PREFIX.sub("", subject or "").split()).casefold()


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().strip(">").lower() if "@" in address else "localhost"


def our_message_id(message_id: str, from_address: str) -> str:
    """The Message-ID header of our outbound message, derived from its id alone, so a
    customer's In-Reply-To names our message without any lookup table."""
    return f"<{message_id}@{domain_of(from_address)}>"


def message_of(header_id: str, from_address: str) -> str | None:
    """Our message id when `header_id` (brackets stripped) is one of our Message-IDs."""
    match = re.fullmatch(f"({_UUID})@(.+)", header_id.strip(), re.IGNORECASE)
    if match and match.group(2).lower() == domain_of(from_address):
        return match.group(1).lower()
    return None


def _signature(secret: str, conversation_hex: str) -> str:
    return hmac.new(secret.encode(), b"email-thread:" + conversation_hex.encode(), hashlib.sha256).hexdigest()[:10]


def reply_address(from_address: str, conversation_id: str, secret: str) -> str:
    """`local+<conversation><signature>@domain`: a reply to it names its conversation, and
    the signature means no one can edit it into another conversation's address."""
    local, _, domain = from_address.partition("@")
    try:
        conversation_hex = uuid.UUID(conversation_id).hex
    except ValueError:
        return from_address
    return f"{local.split('+', 1)[0]}+{conversation_hex}{_signature(secret, conversation_hex)}@{domain}"


def conversation_of_token(recipients: list[str], secret: str) -> str | None:
    for address in recipients:
        match = _TOKEN.search(address)
        if match and hmac.compare_digest(match.group(2).lower(), _signature(secret, match.group(1).lower())):
            return str(uuid.UUID(match.group(1)))
    return None
