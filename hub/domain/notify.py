"""Who hears of an escalation, and on which of their contacts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Person:
    username: str
    role: str
    email: str | None = None
    telegram: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Recipient:
    username: str
    channel: str  # email | telegram | sms
    address: str


def recipients(notify: Iterable[str], people: Iterable[Person]) -> list[Recipient]:
    """Every contact of every person a level names ("role:lead" is everyone whose role is
    lead; "user:maria" is maria), each once, in a stable order."""
    wanted = list(notify)
    roles = {n.split(":", 1)[1] for n in wanted if n.startswith("role:")}
    names = {n.split(":", 1)[1] for n in wanted if n.startswith("user:")}
    out: dict[tuple[str, str], Recipient] = {}
    for p in sorted(people, key=lambda p: p.username):
        if p.role not in roles and p.username not in names:
            continue
        for channel, address in (("email", p.email), ("telegram", p.telegram), ("sms", p.phone)):
            if address:
                out.setdefault((p.username, channel), Recipient(p.username, channel, address))
    return list(out.values())


def message(level: int, reason: str, conversation_id: str, link: str) -> str:
    return (
        f"Escalation, level {level}: {reason}.\n"
        f"Conversation {conversation_id} needs someone with authority. Acknowledge or take it over: {link}"
    )
