"""Escalation ladders: when a conversation's trouble must reach someone with authority.

A ladder starts when its trigger happens to a conversation (a complaint is detected, a clock
is breached, the customer's CSAT answer is low). Its levels fire in order, each `after` its wall time since the trigger, unless
the escalation was acknowledged (by a lead or a manager, or by taking the conversation over)
or the conversation was resolved. Each level fires once: the Escalated event's id is derived
from the conversation, the ladder and the level, and the state records the levels fired.

State per conversation (kept by the escalation processor on the contact's partition): a
`Ladders` naming the contact and, per running ladder, a `Run` (when it was triggered, as an
aware UTC datetime; how many levels fired; whether it was acknowledged; why it started).
The functions never change the state they are given (the processor compares before and
after); an event that changes nothing hands back the same object. `encode` writes
`[contact, [[ladder, since as epoch seconds, fired, acked, reason], ...]]`; `decode` also reads
the older dict form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
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

_TRIGGERS = ("complaint", "breached", "csat_low")


@dataclass(slots=True, frozen=True)
class Run:
    """One ladder running for a conversation."""

    since: datetime  # the trigger's time, timezone-aware
    fired: int = 0  # levels fired so far
    acked: bool = False
    reason: str = ""


@dataclass(slots=True, frozen=True)
class Ladders:
    contact_id: str = ""
    runs: dict[str, Run] = field(default_factory=dict)  # by ladder name


State = Ladders
_EMPTY = Ladders()


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
    items = raw.get("escalation") or []
    if not isinstance(items, list):  # a number or a date here raised TypeError, not a sentence
        raise ConfigError("escalation must be a list of tables: [[escalation]]")
    for i, item in enumerate(items):
        where = f"escalation[{i}]"
        if not isinstance(item, dict) or not item.get("name"):
            raise ConfigError(f"{where} needs a name")
        when = item.get("when") or {}
        if not isinstance(when, dict) or not when or set(when) - set(_TRIGGERS):
            raise ConfigError(f"{where}.when must be {{ complaint = true }}, {{ breached = \"first_response\" }} or {{ csat_low = true }}")
        for flag in ("complaint", "csat_low"):
            if flag in when and when[flag] is not True:
                raise ConfigError(f"{where}.when.{flag} must be true")
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


def running(state: Ladders | None) -> bool:
    """Whether any ladder still runs for the conversation (else its state can go)."""
    return bool(state and state.runs)


def encode(state: Ladders) -> list[Any]:
    """JSON-able form for the table's changelog (epoch floats round-trip to the microsecond)."""
    return [state.contact_id, [[name, r.since.timestamp(), r.fired, r.acked, r.reason] for name, r in state.runs.items()]]


def decode(data: Any) -> Ladders:
    if not data:
        return _EMPTY
    if isinstance(data, dict):  # written before the state was typed: since was ISO
        runs = {name: Run(_aware(datetime.fromisoformat(r["since"])), int(r.get("fired", 0)), bool(r.get("acked")), r.get("reason", ""))
                for name, r in (data.get("ladders") or {}).items()}
        return Ladders(data.get("contact_id", ""), runs)
    contact_id, rows = data
    return Ladders(contact_id, {name: Run(datetime.fromtimestamp(since, timezone.utc), int(fired), bool(acked), reason)
                                for name, since, fired, acked, reason in rows})


def _aware(at: datetime) -> datetime:
    # event times are UTC; a naive one came from an older writer and meant UTC too
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at


def triggered(ladder: Ladder, event: Event) -> str | None:
    """Why this event starts the ladder, or None."""
    kind = event.type
    if kind == "ComplaintDetected" and ladder.when.get("complaint") is True:
        return f"complaint: {getattr(event, 'reason', '')}".strip()
    if kind == "SlaBreached" and ladder.when.get("breached") == getattr(event, "clock", None):
        return f"{getattr(event, 'clock', '')} breached"
    if kind == "SurveyAnswered" and ladder.when.get("csat_low") is True and getattr(event, "low", False):
        # after the resolution (which stopped the other ladders): it runs until acknowledged
        return f"CSAT {getattr(event, 'score', '')} (low)"
    return None


def on_event(state: Ladders | None, event: Event, ladders: tuple[Ladder, ...]) -> Ladders:
    """The conversation's ladders after one event of `conversation.events` (None or an empty
    state: nothing known yet)."""
    current = state or _EMPTY
    if not isinstance(event, ConversationEvent):
        return current
    if isinstance(event, ConversationResolved):
        return _changed(current, event.contact_id, {})  # resolution stops every ladder
    runs = current.runs
    if isinstance(event, Escalated):
        run = runs.get(event.ladder)
        if run is not None and event.level > run.fired:
            runs = {**runs, event.ladder: Run(run.since, event.level, run.acked, run.reason)}
    elif isinstance(event, EscalationAcknowledged):
        acked = {name: Run(r.since, r.fired, True, r.reason) for name, r in runs.items() if not r.acked and (name == event.ladder or not event.ladder)}
        if acked:
            runs = {**runs, **acked}
    else:
        for ladder in ladders:
            reason = triggered(ladder, event)
            if reason and ladder.name not in runs:  # a trigger again does not restart a ladder
                runs = {**runs, ladder.name: Run(event.at, 0, False, reason)}
    return _changed(current, event.contact_id, runs)


def _changed(state: Ladders, contact_id: str, runs: dict[str, Run]) -> Ladders:
    # the same object when nothing moved, so the processor's comparison writes nothing
    if state.contact_id == contact_id and state.runs == runs:
        return state
    return Ladders(contact_id, runs)


def _next_level(run: Run, ladder: Ladder | None) -> tuple[Level, datetime] | None:
    """The run's next level and when it is due, if it still climbs."""
    if ladder is None or run.acked or run.fired >= len(ladder.levels):
        return None
    level = ladder.levels[run.fired]
    return level, run.since + timedelta(seconds=level.after)


def due(state: Ladders | None, conversation_id: str, now: datetime, ladders: tuple[Ladder, ...]) -> list[Escalated]:
    """Levels whose time has come and that have not fired: at most the next one per ladder
    (the one after it fires once this one is recorded, so levels stay in order)."""
    if not state:
        return []
    by_name = {ladder.name: ladder for ladder in ladders}
    out: list[Escalated] = []
    for name, run in state.runs.items():
        nxt = _next_level(run, by_name.get(name))
        if nxt is None or nxt[1] > now:
            continue
        level, at = nxt
        number = run.fired + 1
        out.append(
            Escalated(
                id=derived_id("escalated", conversation_id, name, str(number)),
                at=now,
                contact_id=state.contact_id,
                conversation_id=conversation_id,
                ladder=name,
                level=number,
                reason=run.reason,
                notify=list(level.notify),
                due_at=at,
            )
        )
    return out


def next_due(state: Ladders | None, ladders: tuple[Ladder, ...]) -> datetime | None:
    """When this conversation's next level is due, for the timer's schedule."""
    if not state:
        return None
    by_name = {ladder.name: ladder for ladder in ladders}
    times = [nxt[1] for name, run in state.runs.items() if (nxt := _next_level(run, by_name.get(name))) is not None]
    return min(times, default=None)
