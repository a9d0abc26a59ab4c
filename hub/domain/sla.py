"""SLA clocks: which policy a conversation takes, when its clocks start, pause, meet their
deadline or breach it. Pure functions; the clock is each event's time (or `now`).

Clocks, each counted in business time of the policy's calendar:
- first_response: from the customer's first message to the first human reply;
- next_response: from a customer message written after a reply to the next human reply;
- resolution: from the customer's first message (or a reopening) to the resolution.
Automatic authors ("hub", "bot", "auto") never stop a clock. While the conversation is
pending (it waits on the customer) every running clock is paused; the customer's next
message resumes them. A complaint, a transfer or an assignment to a queue may change the
policy: the deadlines are then recomputed from the clocks' starts under the new policy.

State per conversation (kept by the SLA processor on the contact's partition): a frozen
`Conversation` (contact_id, conversation_id, status open|pending|resolved, answered, `Facts`
(channel, queue, priority, complaint, tier), policy name | None, clocks {name: `Clock`}, next),
each `Clock` with its start, runs ((from, to | None), ...), budget, due_at, warn_at,
warned_at, breached_at, met_at, stopped_at and, while paused, the business seconds left.
Times are timezone-aware datetimes (UTC, as in the events). None is the state of a
conversation nothing is known about. `encode`/`decode` give the compact changelog form.
A clock runs while its last run has no end. Warning and breach ids are derived from the
conversation, the clock, the kind and the clock's start, so each is emitted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from hub.config import ConfigError, parse_duration
from hub.domain.calendar import Calendar, add_business, business_seconds
from hub.domain.complaints import Detector, detected
from hub.domain.response_times import AUTOMATIC_AUTHORS
from hub.events import (
    ComplaintDetected,
    ConversationAssigned,
    ConversationEvent,
    ConversationMarkedPending,
    ConversationOpened,
    ConversationReopened,
    ConversationResolved,
    ConversationTransferred,
    Event,
    MessageReceived,
    ReplyRequested,
    SlaBreached,
    SlaWarning,
    derived_id,
)

CLOCKS = ("first_response", "next_response", "resolution")
CONDITIONS = ("priority", "channel", "queue", "complaint", "tier")
DEFAULT_WARN_AT = 0.8


@dataclass(frozen=True, slots=True)
class Clock:
    start: datetime
    runs: tuple[tuple[datetime, datetime | None], ...]  # a clock runs while its last run has no end
    budget: float | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    met_at: datetime | None = None
    stopped_at: datetime | None = None
    left: float | None = None  # business seconds left, while paused


@dataclass(frozen=True, slots=True)
class Facts:
    """What the policies' `when` may test (CONDITIONS)."""

    channel: str | None = None
    queue: str | None = None
    priority: str = "normal"
    complaint: bool = False
    tier: str | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    contact_id: str
    conversation_id: str
    status: str = "open"  # open | pending | resolved
    answered: bool = False
    facts: Facts = field(default_factory=Facts)
    policy: str | None = None
    clocks: dict[str, Clock] = field(default_factory=dict)  # never changed in place: each event makes a new dict
    next: datetime | None = None  # the next warning or breach due, for the timer


State = Conversation


@dataclass(frozen=True)
class Policy:
    name: str
    when: Mapping[str, Any] = field(default_factory=dict)
    calendar: str = "24x7"
    first_response: float | None = None
    next_response: float | None = None
    resolution: float | None = None
    warn_at: float = DEFAULT_WARN_AT

    def budget(self, clock: str) -> float | None:
        value: float | None = getattr(self, clock)
        return value


def parse_policies(raw: Mapping[str, Any], calendars: Mapping[str, Calendar]) -> tuple[Policy, ...]:
    """`[[sla]]` tables of HUB_CONFIG, in order (first match wins); a mistake names the key."""
    items = raw.get("sla") or []
    if isinstance(items, dict):  # a single [sla] table: one policy for everything
        items = [{"name": "default", **items}]
    if not isinstance(items, list):
        raise ConfigError("sla must be a list of tables: [[sla]]")
    out: list[Policy] = []
    for i, item in enumerate(items):
        where = f"sla[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ConfigError(f"{where} needs a name")
        unknown = set(item) - {"name", "when", "calendar", "warn_at", *CLOCKS}
        if unknown:
            raise ConfigError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        when = item.get("when") or {}
        if not isinstance(when, dict) or set(when) - set(CONDITIONS):
            raise ConfigError(f"{where}.when may only test {', '.join(CONDITIONS)}")
        if "complaint" in when and not isinstance(when["complaint"], bool):
            raise ConfigError(f"{where}.when.complaint must be true or false")
        calendar = item.get("calendar", "24x7")
        if not isinstance(calendar, str) or calendar not in calendars:  # a table here is unhashable: TypeError
            raise ConfigError(f"{where}.calendar: no calendar named {calendar!r} (known: {', '.join(sorted(calendars))})")
        budgets: dict[str, float | None] = {}
        for clock in CLOCKS:
            if clock in item:
                try:
                    budgets[clock] = parse_duration(item[clock])
                except ConfigError as exc:
                    raise ConfigError(f"{where}.{clock}: {exc}") from exc
                if budgets[clock] <= 0:  # type: ignore[operator]
                    raise ConfigError(f"{where}.{clock} must be longer than zero")
        if not budgets:
            raise ConfigError(f"{where} sets no clock: give first_response, next_response and/or resolution")
        warn_at = item.get("warn_at", DEFAULT_WARN_AT)
        if isinstance(warn_at, bool) or not isinstance(warn_at, (int, float)) or not 0 < warn_at < 1:
            raise ConfigError(f"{where}.warn_at must be a share between 0 and 1, like 0.8")
        out.append(Policy(name=item["name"], when=dict(when), calendar=calendar, warn_at=float(warn_at), **budgets))
    return tuple(out)


def _matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, list):
        return actual in expected
    return bool(expected == actual)


def choose(policies: Iterable[Policy], facts: Mapping[str, Any] | Facts) -> Policy | None:
    """The first policy whose every condition holds; no `when` matches everything."""
    # facts as a mapping too: the config check and the tests ask with plain dicts
    get = facts.get if isinstance(facts, Mapping) else lambda key: getattr(facts, key, None)
    for policy in policies:
        if all(_matches(v, get(k)) for k, v in policy.when.items()):
            return policy
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _new_clock(at: datetime) -> Clock:
    return Clock(start=at, runs=((at, None),))


def _active(clock: Clock) -> bool:
    return not clock.met_at and not clock.stopped_at


def _running(clock: Clock) -> bool:
    return _active(clock) and bool(clock.runs) and clock.runs[-1][1] is None


def _pause(clock: Clock, at: datetime) -> Clock:
    if not _running(clock):
        return clock
    return replace(clock, runs=(*clock.runs[:-1], (clock.runs[-1][0], at)))


def _resume(clock: Clock, at: datetime) -> Clock:
    if not _active(clock) or _running(clock):
        return clock
    return replace(clock, runs=(*clock.runs, (at, None)))


def _finish(clock: Clock, at: datetime, how: str) -> Clock:
    if not _active(clock):
        return clock
    return replace(_pause(clock, at), **{how: at})


def _schedule(state: Conversation, policies: tuple[Policy, ...], calendars: Mapping[str, Calendar]) -> Conversation:
    """Choose the policy from the facts and put every running clock's warning and deadline
    in business time: the budget left after the closed runs, counted from the open run."""
    policy = choose(policies, state.facts)
    clocks: dict[str, Clock] = {}
    for name, clock in state.clocks.items():
        budget = policy.budget(name) if policy else None
        if not _active(clock):
            clocks[name] = clock
            continue
        if budget is None:
            clocks[name] = replace(clock, budget=None, due_at=None, warn_at=None, left=None)
            continue
        cal = calendars[policy.calendar]  # type: ignore[union-attr]
        running = _running(clock)
        closed = clock.runs[:-1] if running else clock.runs
        spent = sum(business_seconds(cal, a, b) for a, b in closed)  # type: ignore[arg-type]
        if not running:  # paused: no deadline until the customer answers; what is left is shown
            clocks[name] = replace(clock, budget=budget, due_at=None, warn_at=None, left=max(0.0, budget - spent))
            continue
        run_from = clock.runs[-1][0]
        due = add_business(cal, run_from, budget - spent)
        warn = add_business(cal, run_from, max(0.0, budget * policy.warn_at - spent))  # type: ignore[union-attr]
        clocks[name] = replace(clock, budget=budget, due_at=due, warn_at=warn, left=None)
    out = replace(state, policy=policy.name if policy else None, clocks=clocks)
    return replace(out, next=next_due(out))


def empty() -> Conversation | None:
    """Nothing known yet about the conversation's clocks."""
    return None


def initial(event: ConversationEvent) -> Conversation:
    return Conversation(contact_id=event.contact_id, conversation_id=event.conversation_id)


def _on_customer_message(state: Conversation, e: MessageReceived) -> Conversation:
    tier = e.meta.get("tier") if isinstance(e.meta, dict) else None
    facts = replace(state.facts, channel=e.channel, **({"tier": tier} if isinstance(tier, str) and tier else {}))
    clocks = dict(state.clocks)
    if state.status == "resolved":  # writing again after a resolution reopens the case
        clocks = {name: c for name, c in clocks.items() if _active(c)}
        clocks["resolution"] = _new_clock(e.at)
    if state.status == "pending":  # the customer answered: the clocks count again
        clocks = {name: _resume(c, e.at) for name, c in clocks.items()}
    nxt = clocks.get("next_response")
    if "first_response" not in clocks and not state.answered:
        clocks["first_response"] = _new_clock(e.at)
    elif state.answered and not (nxt and _active(nxt)):
        clocks["next_response"] = _new_clock(e.at)
    if "resolution" not in clocks:
        clocks["resolution"] = _new_clock(e.at)
    return replace(state, facts=facts, clocks=clocks, status="open")


def _on_human_reply(state: Conversation, e: ReplyRequested) -> Conversation:
    clocks = dict(state.clocks)
    for name in ("first_response", "next_response"):
        if name in clocks and _active(clocks[name]):
            clocks[name] = _finish(clocks[name], e.at, "met_at")
    return replace(state, clocks=clocks, answered=True)


def _read_back(state: Conversation, e: SlaWarning | SlaBreached) -> Conversation:
    """The timer's own warning or breach, read back from the log: recorded on its clock."""
    clock = state.clocks.get(e.clock)
    kind = "warning" if isinstance(e, SlaWarning) else "breach"
    if clock is None or event_id(state.conversation_id, e.clock, kind, clock.start.isoformat()) != e.id:
        return state
    field_ = "warned_at" if kind == "warning" else "breached_at"
    if getattr(clock, field_):
        return state
    return replace(state, clocks={**state.clocks, e.clock: replace(clock, **{field_: e.at})})


def on_event(state: Conversation | None, event: Event, policies: tuple[Policy, ...], calendars: Mapping[str, Calendar]) -> Conversation | None:
    """The conversation's clocks after one event of `conversation.events`. `state` is None
    (or any falsy value, like a table's default {}) while nothing is known; it is never
    changed, a new state is returned (the same object when the event changes nothing)."""
    state = state or None
    if not isinstance(event, ConversationEvent):
        return state
    if state is None and isinstance(event, (SlaWarning, SlaBreached)):
        return None  # the read-back of a clock this state no longer holds
    state = state or initial(event)
    e = event
    if isinstance(e, (SlaWarning, SlaBreached)):
        after = _read_back(state, e)
        return replace(after, next=next_due(after))
    if isinstance(e, ConversationOpened):
        state = replace(state, facts=replace(state.facts, channel=e.channel))
    elif isinstance(e, MessageReceived):
        if isinstance(e.meta, dict) and e.meta.get("automatic"):
            return state  # an out-of-office or other machine-sent mail asks nobody for an answer
        state = _on_customer_message(state, e)
    elif isinstance(e, ReplyRequested):
        if e.author in AUTOMATIC_AUTHORS:
            return state
        state = _on_human_reply(state, e)
    elif isinstance(e, ConversationMarkedPending):
        state = replace(state, status="pending", clocks={n: _pause(c, e.at) for n, c in state.clocks.items()})
    elif isinstance(e, ConversationResolved):
        clocks = {n: _finish(c, e.at, "met_at" if n == "resolution" else "stopped_at") for n, c in state.clocks.items()}
        state = replace(state, status="resolved", clocks=clocks)
    elif isinstance(e, ConversationReopened):
        clocks = {n: _resume(c, e.at) for n, c in state.clocks.items() if _active(c)}
        if "resolution" not in clocks:
            clocks["resolution"] = _new_clock(e.at)
        state = replace(state, status="open", clocks=clocks)
    elif isinstance(e, ComplaintDetected):
        priority = state.facts.priority if state.facts.priority == "urgent" else "high"
        state = replace(state, facts=replace(state.facts, complaint=True, priority=priority))
    elif isinstance(e, (ConversationTransferred, ConversationAssigned)):
        state = replace(state, facts=replace(state.facts, queue=e.queue))
    else:
        return state
    return _schedule(state, policies, calendars)


def finished(state: Conversation | None) -> bool:
    """Nothing left to time: resolved (every clock met or stopped, a reopening starts
    afresh) or no clocks (an event about a conversation no longer, or never, kept)."""
    return not state or state.status == "resolved" or not state.clocks


def is_complaint(state: Conversation | None) -> bool:
    return bool(state and state.facts.complaint)


# --- the changelog form -------------------------------------------------------------------
# Every table write goes to the changelog, so the form is positional and times are epoch
# seconds: [1, contact, conversation, status, answered, [channel, priority, complaint, queue,
# tier], policy, [[clock, start, [from, to, from, ...], budget, due_at, warn_at, left,
# warned_at, breached_at, met_at, stopped_at], ...], next], status and clock as indexes of
# STATUSES and CLOCKS. Trailing nulls are left off; an odd number of run times means the last
# run is open. The leading 1 is the form's version,
# so a later form (or the dict form of changelogs written before it) can still be read.

_FORM = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)
STATUSES = ("open", "pending", "resolved")


def _enc_time(value: datetime | None) -> int | float | None:
    if value is None:
        return None
    # whole microseconds: a float of them in seconds reads back exactly (error < 0.5 µs)
    us = (value - _EPOCH) // _MICRO
    return us // 1_000_000 if us % 1_000_000 == 0 else us / 1e6


def _dec_time(value: int | float | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int):
        return _EPOCH + timedelta(seconds=value)
    return _EPOCH + timedelta(microseconds=round(value * 1e6))


def _enc_number(value: float | None) -> int | float | None:
    return int(value) if value is not None and value == int(value) else value


def _dec_number(value: int | float | None) -> float | None:
    return None if value is None else float(value)


def _trim(items: list[Any]) -> list[Any]:
    while items and items[-1] is None:
        items.pop()
    return items


def _pad(items: Any, n: int) -> list[Any]:
    return [*items, *[None] * (n - len(items))]


def _enc_clock(name: str, c: Clock) -> list[Any]:
    runs = [t for a, b in c.runs for t in ((a, b) if b is not None else (a,))]
    if any(b is None for _, b in c.runs[:-1]):
        raise ValueError(f"clock {name}: only the last run may be open")  # the flat form could not say which
    return _trim([CLOCKS.index(name) if name in CLOCKS else name, _enc_time(c.start), [_enc_time(t) for t in runs], _enc_number(c.budget),
                  _enc_time(c.due_at), _enc_time(c.warn_at), _enc_number(c.left), _enc_time(c.warned_at), _enc_time(c.breached_at),
                  _enc_time(c.met_at), _enc_time(c.stopped_at)])


def _dec_clock(data: list[Any]) -> tuple[str, Clock]:
    key, start, flat, budget, due_at, warn_at, left, warned_at, breached_at, met_at, stopped_at = _pad(data, 11)
    times = [_dec_time(t) for t in flat]
    runs = tuple((times[i], times[i + 1] if i + 1 < len(times) else None) for i in range(0, len(times), 2))
    clock = Clock(start=_dec_time(start), runs=runs, budget=_dec_number(budget), due_at=_dec_time(due_at),  # type: ignore[arg-type]
                  warn_at=_dec_time(warn_at), warned_at=_dec_time(warned_at), breached_at=_dec_time(breached_at), met_at=_dec_time(met_at),
                  stopped_at=_dec_time(stopped_at), left=_dec_number(left))
    return (CLOCKS[key] if isinstance(key, int) else key), clock


def encode(state: Conversation | None) -> Any:
    """Compact JSON-able form for the table's changelog; None while nothing is known."""
    if not state:
        return None
    f = state.facts
    return _trim([_FORM, state.contact_id, state.conversation_id, STATUSES.index(state.status) if state.status in STATUSES else state.status,
                  state.answered, _trim([f.channel, f.priority, f.complaint, f.queue, f.tier]), state.policy,
                  [_enc_clock(name, c) for name, c in state.clocks.items()], _enc_time(state.next)])


def decode(data: Any) -> Conversation | None:
    """The state from `encode`'s form, or from the dict form changelogs held before it."""
    if not data:
        return None
    if isinstance(data, Conversation):
        return data
    if isinstance(data, Mapping):
        return _from_dict(data)
    form, contact_id, conversation_id, status, answered, facts, policy, clocks, nxt = _pad(data, 9)
    if form != _FORM:
        raise ValueError(f"unknown SLA state form {form!r}")
    channel, priority, complaint, queue, tier = _pad(facts or [], 5)
    return Conversation(contact_id=contact_id, conversation_id=conversation_id, status=STATUSES[status] if isinstance(status, int) else status,
                        answered=bool(answered), facts=Facts(channel=channel, queue=queue, priority=priority, complaint=bool(complaint), tier=tier),
                        policy=policy, clocks=dict(_dec_clock(c) for c in clocks or []), next=_dec_time(nxt))


def _from_dict(data: Mapping[str, Any]) -> Conversation:
    def t(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    clocks = {name: Clock(start=t(c["start"]), runs=tuple((t(a), t(b)) for a, b in c["runs"]), budget=c.get("budget"),  # type: ignore[misc]
                          due_at=t(c.get("due_at")), warn_at=t(c.get("warn_at")), warned_at=t(c.get("warned_at")), breached_at=t(c.get("breached_at")),
                          met_at=t(c.get("met_at")), stopped_at=t(c.get("stopped_at")), left=c.get("left"))
              for name, c in (data.get("clocks") or {}).items()}
    facts = Facts(**{k: v for k, v in (data.get("facts") or {}).items() if k in Facts.__dataclass_fields__})
    return Conversation(contact_id=data["contact_id"], conversation_id=data["conversation_id"], status=data.get("status", "open"),
                        answered=bool(data.get("answered")), facts=facts, policy=data.get("policy"), clocks=clocks, next=t(data.get("next")))


def event_id(conversation_id: str, clock: str, kind: str, start: str) -> str:
    return derived_id("sla", conversation_id, clock, kind, start)


def due(state: Conversation | None, now: datetime) -> list[SlaWarning | SlaBreached]:
    """Warnings and breaches whose time has come and that are not recorded yet; a warning
    before its breach when both are due (after a restart), so they read in order."""
    out: list[SlaWarning | SlaBreached] = []
    if not state or not state.policy:
        return out
    common = {"contact_id": state.contact_id, "conversation_id": state.conversation_id, "policy": state.policy}
    for name, clock in state.clocks.items():
        if not _running(clock) or not clock.due_at:
            continue
        start = clock.start.isoformat()  # the ids were always built from the ISO string of the start
        if clock.warn_at and clock.warn_at <= now and not clock.warned_at and not clock.breached_at:
            out.append(SlaWarning(id=event_id(state.conversation_id, name, "warning", start), at=now, clock=name, due_at=clock.due_at, **common))
        if clock.due_at <= now and not clock.breached_at:
            overdue = (now - clock.due_at).total_seconds()
            out.append(SlaBreached(id=event_id(state.conversation_id, name, "breach", start), at=now, clock=name, due_at=clock.due_at,
                                   overdue=overdue, **common))
    return out


def next_due(state: Conversation | None) -> datetime | None:
    """When this conversation's next warning or breach is due, for the timer's schedule."""
    times: list[datetime] = []
    if not state or not state.policy:
        return None
    for clock in state.clocks.values():
        if not _running(clock) or not clock.due_at or clock.breached_at:
            continue
        if clock.warn_at and not clock.warned_at:
            times.append(clock.warn_at)
        times.append(clock.due_at)
    return min(times, default=None)


def view(state: Conversation | None) -> dict[str, Any]:
    """The clocks as CONTRACT.md shows them: `{policy, first_response, next_response,
    resolution}`, each null until that clock starts under the policy."""
    policy = state.policy if state else None
    out: dict[str, Any] = {"policy": policy}
    for name in CLOCKS:
        clock = state.clocks.get(name) if state else None
        if not policy or clock is None or clock.budget is None:
            out[name] = None
            continue
        out[name] = {
            "started_at": _iso(clock.start), "due_at": _iso(clock.due_at), "warned_at": _iso(clock.warned_at),
            "breached_at": _iso(clock.breached_at), "met_at": _iso(clock.met_at), "stopped_at": _iso(clock.stopped_at),
            "paused": _active(clock) and not _running(clock),
        }
        if out[name]["paused"] and clock.left is not None:
            out[name]["left_seconds"] = round(clock.left, 1)  # business seconds, counted again on resuming
    return out


# --- replay: current policies over the logged history ------------------------------------


def replay(
    events: Iterable[Event],
    policies: tuple[Policy, ...],
    calendars: Mapping[str, Calendar],
    detector: Detector,
    now: datetime,
) -> list[dict[str, Any]]:
    """Run the policies over history, the clock being each event's time: what would have
    been warned and breached, and which clocks started and met their deadline. The log's
    own warnings and breaches (from the policies of their day) are ignored; complaints are
    detected again with the current terms."""
    states: dict[str, Conversation] = {}
    outcomes: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str, str]] = set()

    def note(state: Conversation) -> None:
        for name, clock in state.clocks.items():
            if not state.policy or clock.budget is None:
                continue
            start = clock.start.isoformat()
            for kind, at in (("started", clock.start), ("met", clock.met_at)):
                key = (state.conversation_id, name, start, kind)
                if at and key not in seen:
                    seen.add(key)
                    outcomes.append({"conversation_id": state.conversation_id, "policy": state.policy, "clock": name, "kind": kind,
                                     "start": start, "due_at": _iso(clock.due_at), "at": _iso(at)})

    def fire(cid: str, now: datetime) -> None:
        """What the timer would have emitted before `now`, each at its own time."""
        state: Conversation | None = states[cid]
        for happened in due(state, now):
            clock = state.clocks[happened.clock]  # type: ignore[union-attr]
            at = happened.due_at if isinstance(happened, SlaBreached) else clock.warn_at
            outcomes.append({"conversation_id": cid, "policy": happened.policy, "clock": happened.clock,
                             "kind": "warned" if isinstance(happened, SlaWarning) else "breached",
                             "start": clock.start.isoformat(), "due_at": happened.due_at.isoformat(), "at": _iso(at)})
            state = on_event(state, happened.replace(at=at), policies, calendars)
        assert state is not None  # a read-back never empties a state it was due from
        states[cid] = state

    for e in events:
        if not isinstance(e, ConversationEvent) or isinstance(e, (SlaWarning, SlaBreached)):
            continue
        cid = e.conversation_id
        if cid in states:
            fire(cid, e.at)
        before = states.get(cid)
        after = on_event(before, e, policies, calendars)
        assert after is not None  # a conversation event other than a read-back always gives a state
        if isinstance(e, MessageReceived) and not (before and before.facts.complaint):
            complaint = detected(e, detector)  # the live processor's rule: not on automatic mail, a widget's choice counts
            if complaint is not None:
                after = on_event(after, complaint, policies, calendars)
                assert after is not None
        states[cid] = after
        note(after)
    for cid in list(states):
        fire(cid, now)
    return outcomes


def summarise(outcomes: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, int]]]:
    """{policy: {clock: {started, met, warned, breached}}} from replay's outcomes."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for o in outcomes:
        counts = out.setdefault(o["policy"], {}).setdefault(o["clock"], {"started": 0, "met": 0, "warned": 0, "breached": 0})
        counts[o["kind"]] += 1
    return out
