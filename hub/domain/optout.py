"""Opted-out addresses: STOP / «لغو» blocks every reply to that address until START."""

from __future__ import annotations

from typing import Any, Mapping

from hub.events import ContactOptedOut


def key(channel: str, address: str) -> str:
    return f"{channel}:{address}"


def record(event: ContactOptedOut) -> tuple[str, str]:
    """(since, keyword): what the agent is told when a reply is refused."""
    return (event.at.isoformat(), event.keyword)


def refusal(held: tuple[str, str] | Mapping[str, Any] | None) -> str | None:
    """Why nothing may go to that address, or None; `held` is what `record` kept (a dict
    from before records were tuples is read too, so a recovered changelog still works)."""
    if not held:
        return None
    since, keyword = (held["since"], held["keyword"]) if isinstance(held, Mapping) else held
    return f"not sent: the customer opted out by sending {keyword!r} at {since}; they can send START to opt back in"
