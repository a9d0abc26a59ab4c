"""Escalation ladders: when a conversation's trouble must reach someone with authority.

A ladder starts when its trigger happens to a conversation (a complaint is detected, a clock
is breached). Its levels fire in order, each `after` its wall time since the trigger, unless
the escalation was acknowledged (by a lead or a manager, or by taking the conversation over)
or the conversation was resolved. Each level fires once: the Escalated event's id is derived
from the conversation, the ladder and the level, and the state records the levels fired.

State per conversation (kept by the escalation processor on the contact's partition):
    {"contact_id": str, "ladders": {name: {"since": iso, "fired": int, "acked": bool, "reason": str}}}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from hub.config import ConfigError, parse_duration
from hub.domain.sla import CLOCKS
from hub.events import (
    ConversationEvent,
    ConversationResolved,
    Escalated,
    EscalationAcknowledged,
    Event,
    derived_id,
)

State = dict[str, Any]
_TRIGGERS = ("complaint", "breached")



@dataclass(frozen=True)
class Level:
    after: float  # seconds of wall time since the trigger
    notify: tuple[str, ...]  # "role:lead", "role:manager", "user:NAME"


@dataclass(frozen=True)
class Ladder:
    name: str
    when: Mapping[str, Any]
    levels: tuple[Level, ...]


def parse_ladders(raw: Mapping[str, Any]) -> tuple[Ladder, ...]:
    """`[[escalation]]` tables of HUB_CONFIG; a mistake names the key."""
    out: list[Ladder] = []
    for i, item in enumerate(raw.get("escalation") or []):
        where = f"escalation[{i}]"
        if not isinstance(item, dict) or not item.get("name"):
            raise ConfigError(f"{where} needs a name")
        when = item.get("when") or {}
        if not isinstance(when, dict) or not when or set(when) - set(_TRIGGERS):
            raise ConfigError(f"{where}.when must be {{ complaint = true }} or {{ breached = \"first_response\" }}")
        if "complaint" in when and when["complaint"] is not True:
            raise ConfigError(f"{where}.when.complaint must be true")
        if "breached" in when and when["breached"] not in CLOCKS:
            raise ConfigError(f"{where}.when.breached must name a clock: {', '.join(CLOCKS)}")
        levels = item.get("levels")
        if not isinstance(levels, list) or not levels:
            raise ConfigError(f"{where}.levels must list at least one {{ after = \"1h\", notify = [\"role:lead\"] }}")
        parsed: list[Level] = []
        for j, level in enumerate(levels):
            if not isinstance(level, dict) or "after" not in level:
                raise ConfigError(f"{where}.levels[{j}] needs `after`")
            notify = level.get("notify") or []
            if not isinstance(notify, list) or not notify or not all(isinstance(n, str) and n.split(":", 1)[0] in ("role", "user") for n in notify):
                raise ConfigError(f"{where}.levels[{j}].notify must list \"role:NAME\" or \"user:NAME\"")
            try:
                after = parse_duration(level["after"])
            except ConfigError as exc:
                raise ConfigError(f"{where}.levels[{j}].after: {exc}") from exc
            if parsed and after < parsed[-1].after:
                raise ConfigError(f"{where}.levels[{j}].after comes before the level above it")
            parsed.append(Level(after=after, notify=tuple(notify)))
        out.append(Ladder(name=str(item["name"]), when=dict(when), levels=tuple(parsed)))
    return tuple(out)


def running(state: State) -> bool:
    """Whether any ladder still runs for the conversation (else its state can go)."""
    return bool(state.get("ladders"))


def encode(state: State) -> Any:
    """JSON-able form for the table's changelog."""
    return state


def decode(data: Any) -> State:
    return dict(data or {})


def triggered(ladder: Ladder, event: Event) -> str | None:
    """Why this event starts the ladder, or None."""
    kind = event.type
    if kind == "ComplaintDetected" and ladder.when.get("complaint") is True:
        return f"complaint: {getattr(event, 'reason', '')}".strip()
    if kind == "SlaBreached" and ladder.when.get("breached") == getattr(event, "clock", None):
        return f"{getattr(event, 'clock', '')} breached"
    return None


def on_event(state: State, event: Event, ladders: tuple[Ladder, ...]) -> State:
    """The conversation's ladders after one event of `conversation.events`."""
    if not isinstance(event, ConversationEvent):
        return state
    running: dict[str, Any] = dict(state.get("ladders") or {})
    if isinstance(event, ConversationResolved):
        return {**state, "contact_id": event.contact_id, "ladders": {}}  # resolution stops every ladder
    if isinstance(event, Escalated):
        ladder = running.get(event.ladder)
        if ladder is not None:
            running[event.ladder] = {**ladder, "fired": max(ladder["fired"], event.level)}
    elif isinstance(event, EscalationAcknowledged):
        for name, ladder in running.items():
            if name == event.ladder or not event.ladder:
                running[name] = {**ladder, "acked": True}
    else:
        for ladder in ladders:
            reason = triggered(ladder, event)
            if reason and ladder.name not in running:  # a trigger again does not restart a ladder
                running[ladder.name] = {"since": event.at.isoformat(), "fired": 0, "acked": False, "reason": reason}
    return {**state, "contact_id": event.contact_id, "ladders": running}


def due(state: State, conversation_id: str, now: datetime, ladders: tuple[Ladder, ...]) -> list[Escalated]:
    """Levels whose time has come and that have not fired: at most the next one per ladder
    (the one after it fires once this one is recorded, so levels stay in order)."""
    by_name = {ladder.name: ladder for ladder in ladders}
    out: list[Escalated] = []
    for name, run in (state.get("ladders") or {}).items():
        ladder = by_name.get(name)
        if ladder is None or run["acked"] or run["fired"] >= len(ladder.levels):
            continue
        level = ladder.levels[run["fired"]]
        at = datetime.fromisoformat(run["since"]) + timedelta(seconds=level.after)
        if at <= now:
            number = run["fired"] + 1
            out.append(
                Escalated(
                    id=derived_id("escalated", conversation_id, name, str(number)),
                    at=now,
                    contact_id=state["contact_id"],
                    conversation_id=conversation_id,
                    ladder=name,
                    level=number,
                    reason=run["reason"],
                    notify=list(level.notify),
                    due_at=at,
                )
            )
    return out


def next_due(state: State, ladders: tuple[Ladder, ...]) -> datetime | None:
    """When this conversation's next level is due, for the timer's schedule."""
    by_name = {ladder.name: ladder for ladder in ladders}
    times = []
    for name, run in (state.get("ladders") or {}).items():
        ladder = by_name.get(name)
        if ladder is None or run["acked"] or run["fired"] >= len(ladder.levels):
            continue
        times.append(datetime.fromisoformat(run["since"]) + timedelta(seconds=ladder.levels[run["fired"]].after))
    return min(times, default=None)
