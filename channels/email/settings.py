"""The email channel's settings: where replies go out (SMTP), where mail comes in (an IMAP
mailbox, an SMTP listener, or both), the address the hub writes from, and how large a mail
it takes. Each URL is parsed when the settings are read, so a mistake stops the start."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any, ClassVar, Mapping, Self
from urllib.parse import parse_qs, unquote, urlsplit

from channels.base import ChannelSettings
from hub.config import ConfigError

MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool


@dataclass(frozen=True)
class ImapTarget:
    host: str
    port: int
    tls: bool
    username: str
    password: str
    mailbox: str


def smtp_target(url: str) -> SmtpTarget:
    """`smtp://[user:pass@]host:port[?starttls=1]` or `smtps://...` (implicit TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(f"HUB_SMTP_URL must be smtp://host:port or smtps://host:port, not {parts.scheme or 'no scheme'}://")
    starttls = parse_qs(parts.query).get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    implicit = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname, port=parts.port or (465 if implicit else 587 if starttls else 25),
        username=unquote(parts.username) if parts.username else None, password=unquote(parts.password) if parts.password else None,
        use_tls=implicit, start_tls=starttls and not implicit,
    )


def imap_target(url: str) -> ImapTarget:
    """`imap://user:pass@host[:port]/MAILBOX` or `imaps://...`; the mailbox is INBOX unless named."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ConfigError("HUB_IMAP_URL must be imap:// or imaps://user:pass@host[:port]/MAILBOX")
    tls = parts.scheme == "imaps"
    return ImapTarget(parts.hostname, parts.port or (993 if tls else 143), tls, unquote(parts.username), unquote(parts.password or ""),
                      unquote(parts.path.lstrip("/")) or "INBOX")


def parse_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"HUB_SMTP_LISTEN must be host:port, not {value!r}")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class EmailSettings(ChannelSettings):
    channel: ClassVar[str] = "email"
    env: ClassVar[tuple[str, ...]] = ("HUB_SMTP_URL", "HUB_EMAIL_FROM", "HUB_IMAP_URL", "HUB_SMTP_LISTEN", "HUB_EMAIL_MAX_BYTES")

    smtp: SmtpTarget | None = None
    #: the hub's own address: From of every reply, and the domain of its Message-IDs
    from_address: str = ""
    imap: ImapTarget | None = None
    listen: tuple[str, int] | None = None
    max_bytes: int = MAX_BYTES

    @classmethod
    def read(cls, env: Mapping[str, str], raw: Mapping[str, Any]) -> Self:
        sender = env.get("HUB_EMAIL_FROM", "").strip()
        if sender and "@" not in parseaddr(sender)[1]:
            raise ConfigError(f"HUB_EMAIL_FROM must be an address like support@example.com, not {sender!r}")
        try:
            max_bytes = int(env.get("HUB_EMAIL_MAX_BYTES", str(MAX_BYTES)))
        except ValueError as exc:
            raise ConfigError(f"HUB_EMAIL_MAX_BYTES must be a number of bytes: {exc}") from exc
        return cls(
            smtp=smtp_target(env["HUB_SMTP_URL"]) if env.get("HUB_SMTP_URL") else None,
            from_address=sender,
            imap=imap_target(env["HUB_IMAP_URL"]) if env.get("HUB_IMAP_URL") else None,
            listen=parse_listen(env["HUB_SMTP_LISTEN"]) if env.get("HUB_SMTP_LISTEN") else None,
            max_bytes=max_bytes,
        )
