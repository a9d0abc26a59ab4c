"""MMS media: fetched only when an agent opens it, and only from where Twilio keeps it.

A MediaUrl arrives in a webhook form; anyone who can reach the webhook could put any URL
there (another help desk's Twilio webhook was used to make the server fetch internal URLs).
So a URL is fetched only when it has the scheme, host and port of TWILIO_API_BASE and a path
under the account (`/2010-04-01/Accounts/<sid>/`), with the account's credentials. Twilio
answers media requests with a redirect to its storage; a redirect is followed only to https
on a host whose every address is public (never loopback, private, link-local or reserved),
and the connection is made to an address that passed that check (no DNS rebinding), without
the credentials. The body is capped at HUB_MEDIA_MAX_BYTES.

The account path is checked on the path as the server will read it: a `../` (or `%2e%2e`,
or `%252e%252e`) after the account's prefix would be resolved by yarl or by Twilio and fetch
another of the account's resources with its credentials. So the path must already be in
canonical form (unreserved characters only, no dot segments, no percent-encoding) and the
URL fetched is the one checked, sent as is. The content type served is reduced to
`type/subtype` (hub/untrusted.py)."""

from __future__ import annotations

import ipaddress
import logging
import posixpath
import re
import socket
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from channels.base import AttachmentUnavailable, Media, MediaTooLarge, read_capped
from channels.sms.settings import SmsSettings, TwilioAccount
from hub.core import Core
from hub.store.models import Message
from hub.untrusted import Unreadable, media_type, percent_decoded

log = logging.getLogger("hub.sms.media")
MAX_REDIRECTS = 3
# Twilio's media paths: segments of unreserved characters, none of them a dot segment.
_CANONICAL_PATH = re.compile(r"(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+")


class UnsafeMedia(ValueError):
    """The URL is not one the hub may fetch; the message says why."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_twilio_url(url: str, api_base: str, account_sid: str) -> str:
    """The URL to fetch, when `url` is a media URL of this account on TWILIO_API_BASE: the
    URL itself, canonical (see the module's docstring), with neither query nor fragment."""
    try:
        want, got = urlsplit(api_base), urlsplit(url)
        got_port, want_port = got.port or _default_port(got.scheme), want.port or _default_port(want.scheme)
    except ValueError as exc:  # a port that is not a number, a broken IPv6 literal
        raise UnsafeMedia(f"media URL does not parse: {exc}") from exc
    if (got.scheme, got.hostname, got_port) != (want.scheme, want.hostname, want_port):
        raise UnsafeMedia(f"media URL is not on {want.scheme}://{want.netloc}")
    if got.username is not None or got.password is not None or "@" in got.netloc:
        raise UnsafeMedia("media URL carries credentials")
    if got.query or got.fragment or "?" in url or "#" in url:
        raise UnsafeMedia("media URL carries a query or fragment")
    prefix = f"/2010-04-01/Accounts/{account_sid}/"
    try:
        normal = posixpath.normpath(percent_decoded(got.path))
    except Unreadable as exc:
        raise UnsafeMedia(f"media URL's path: {exc.message}") from exc
    if not normal.startswith(prefix):
        raise UnsafeMedia("media URL is not under this Twilio account")
    if got.path != normal or not _CANONICAL_PATH.fullmatch(got.path):
        raise UnsafeMedia("media URL's path is not canonical (percent-encoding, dot segments, backslashes or other characters)")
    return f"{got.scheme}://{got.netloc}{got.path}"


def check_redirect(url: str) -> str:
    """A redirect target is acceptable only on https; its addresses are checked on connect."""
    got = urlsplit(url)
    if got.scheme != "https" or not got.hostname:
        raise UnsafeMedia(f"redirect to a non-https URL refused ({got.scheme or 'no scheme'})")
    try:
        literal = ipaddress.ip_address(got.hostname)
    except ValueError:
        return url
    if not is_public(str(literal)):
        raise UnsafeMedia(f"redirect to a non-public address refused ({literal})")
    return url


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


class PublicOnlyResolver(AbstractResolver):
    """Resolves like aiohttp does, then refuses the host unless every address is public, so a
    name that points inside (or is re-pointed there after a check) is never connected to."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        bad = [r["host"] for r in found if not is_public(r["host"])]
        if bad or not found:
            raise UnsafeMedia(f"{host} resolves to a non-public address ({', '.join(bad) or 'none'})")
        return found

    async def close(self) -> None:
        await self._inner.close()


async def fetch_media(account: TwilioAccount, cap: int, url: str) -> Media:
    """The media behind a Twilio MediaUrl, under every rule in this module's docstring."""
    url = check_twilio_url(url, account.api_base, account.sid)
    timeout = aiohttp.ClientTimeout(total=30)
    auth = aiohttp.BasicAuth(account.sid, account.auth_token)
    async with aiohttp.ClientSession(timeout=timeout) as twilio:
        # encoded=True: sent exactly as checked, never re-normalised on the way out
        async with twilio.get(URL(url, encoded=True), auth=auth, allow_redirects=False) as first:
            if first.status not in (301, 302, 303, 307, 308):
                return await _answer(first, cap)
            location = first.headers.get("Location", "")
    # Outside Twilio's API: public https only, no credentials, at most a few hops.
    connector = aiohttp.TCPConnector(resolver=PublicOnlyResolver())
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as storage:
        target = urljoin(url, location)
        for _ in range(MAX_REDIRECTS):
            check_redirect(target)
            async with storage.get(target, allow_redirects=False) as hop:
                if hop.status not in (301, 302, 303, 307, 308):
                    return await _answer(hop, cap)
                target = urljoin(target, hop.headers.get("Location", ""))
    raise UnsafeMedia(f"more than {MAX_REDIRECTS} redirects")


async def _answer(response: aiohttp.ClientResponse, cap: int) -> Media:
    if response.status != 200:
        raise UnsafeMedia(f"Twilio answered {response.status} for the media")
    body = await read_capped(response, cap)
    return Media(content_type=media_type(response.headers.get("Content-Type")), body=body)


async def open_item(hub: Core, message: Message, item: dict[str, Any]) -> Media:
    """An agent opens an MMS item: fetched now, under the rules above."""
    return await open_twilio_item(SmsSettings.of(hub.settings).account, hub.settings.media_max_bytes, message, item)


async def open_twilio_item(account: TwilioAccount, cap: int, message: Message, item: dict[str, Any]) -> Media:
    """A Twilio media item of any channel over the account (MMS, WhatsApp), fetched now under
    the rules above; the library's and the fetch's errors become AttachmentUnavailable."""
    if not item.get("url") or not isinstance(item["url"], str):
        raise AttachmentUnavailable(404, "not_found", "no such attachment")
    try:
        return await fetch_media(account, cap, item["url"])
    except UnsafeMedia as exc:
        log.warning("media fetch refused", extra={"conversation_id": message.conversation_id, "message_id": message.id, "reason": str(exc)})
        raise AttachmentUnavailable(422, "unsafe_media", f"not fetched: {exc}") from exc
    except MediaTooLarge as exc:
        raise AttachmentUnavailable(413, "too_large", str(exc)) from exc
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise AttachmentUnavailable(502, "media_unavailable", f"Twilio's media could not be fetched: {type(exc).__name__}") from exc
