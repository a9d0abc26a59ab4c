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

State per conversation (kept by the SLA processor on the contact's partition), JSON-able:
    {"contact_id", "conversation_id", "status": open|pending|resolved, "answered": bool,
     "facts": {channel, queue, priority, complaint, tier}, "policy": name | None,
     "clocks": {name: {"start", "runs": [[from, to | None]], "due_at", "warn_at",
                       "warned_at", "breached_at", "met_at", "stopped_at"}}, "next": iso | None}
A clock runs while its last run has no end. Warning and breach ids are derived from the
conversation, the clock, the kind and the clock's start, so each is emitted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from hub.config import ConfigError, parse_duration
from hub.domain.calendar import Calendar, add_business, business_seconds
from hub.domain.complaints import Detector
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

State = dict[str, Any]
CLOCKS = ("first_response", "next_response", "resolution")
CONDITIONS = ("priority", "channel", "queue", "complaint", "tier")
DEFAULT_WARN_AT = 0.8


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
        if calendar not in calendars:
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


def choose(policies: Iterable[Policy], facts: Mapping[str, Any]) -> Policy | None:
    """The first policy whose every condition holds; no `when` matches everything."""
    for policy in policies:
        if all(_matches(v, facts.get(k)) for k, v in policy.when.items()):
            return policy
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _new_clock(at: datetime) -> dict[str, Any]:
    return {"start": at.isoformat(), "runs": [[at.isoformat(), None]], "budget": None, "due_at": None, "warn_at": None,
            "warned_at": None, "breached_at": None, "met_at": None, "stopped_at": None}


def _active(clock: Mapping[str, Any]) -> bool:
    return not clock["met_at"] and not clock["stopped_at"]


def _running(clock: Mapping[str, Any]) -> bool:
    return _active(clock) and bool(clock["runs"]) and clock["runs"][-1][1] is None


def _pause(clock: dict[str, Any], at: datetime) -> dict[str, Any]:
    if not _running(clock):
        return clock
    runs = [list(r) for r in clock["runs"]]
    runs[-1][1] = at.isoformat()
    return {**clock, "runs": runs}


def _resume(clock: dict[str, Any], at: datetime) -> dict[str, Any]:
    if not _active(clock) or _running(clock):
        return clock
    return {**clock, "runs": [*clock["runs"], [at.isoformat(), None]]}


def _finish(clock: dict[str, Any], at: datetime, how: str) -> dict[str, Any]:
    if not _active(clock):
        return clock
    return {**_pause(clock, at), how: at.isoformat()}


def _schedule(state: State, policies: tuple[Policy, ...], calendars: Mapping[str, Calendar]) -> State:
    """Choose the policy from the facts and put every running clock's warning and deadline
    in business time: the budget left after the closed runs, counted from the open run."""
    policy = choose(policies, state["facts"])
    clocks: dict[str, Any] = {}
    for name, clock in state["clocks"].items():
        budget = policy.budget(name) if policy else None
        if not _active(clock):
            clocks[name] = clock
            continue
        if budget is None:
            clocks[name] = {**clock, "budget": None, "due_at": None, "warn_at": None, "left": None}
            continue
        cal = calendars[policy.calendar]  # type: ignore[union-attr]
        running = _running(clock)
        closed = clock["runs"][:-1] if running else clock["runs"]
        spent = sum(business_seconds(cal, _time(a), _time(b)) for a, b in closed)  # type: ignore[arg-type]
        if not running:  # paused: no deadline until the customer answers; what is left is shown
            clocks[name] = {**clock, "budget": budget, "due_at": None, "warn_at": None, "left": max(0.0, budget - spent)}
            continue
        run_from = _time(clock["runs"][-1][0])
        assert run_from is not None
        due = add_business(cal, run_from, budget - spent)
        warn = add_business(cal, run_from, max(0.0, budget * policy.warn_at - spent))  # type: ignore[union-attr]
        clocks[name] = {**clock, "budget": budget, "due_at": due.isoformat(), "warn_at": warn.isoformat(), "left": None}
    out = {**state, "policy": policy.name if policy else None, "clocks": clocks}
    out["next"] = _iso(next_due(out))
    return out


def initial(event: ConversationEvent) -> State:
    return {"contact_id": event.contact_id, "conversation_id": event.conversation_id, "status": "open", "answered": False,
            "facts": {"channel": None, "queue": None, "priority": "normal", "complaint": False, "tier": None},
            "policy": None, "clocks": {}, "next": None}


def _on_customer_message(state: State, e: MessageReceived) -> State:
    facts = {**state["facts"], "channel": e.channel}
    tier = e.meta.get("tier") if isinstance(e.meta, dict) else None
    if isinstance(tier, str) and tier:
        facts["tier"] = tier
    clocks = dict(state["clocks"])
    if state["status"] == "resolved":  # writing again after a resolution reopens the case
        clocks = {name: c for name, c in clocks.items() if _active(c)}
        clocks["resolution"] = _new_clock(e.at)
    if state["status"] == "pending":  # the customer answered: the clocks count again
        clocks = {name: _resume(c, e.at) for name, c in clocks.items()}
    if "first_response" not in clocks and not state["answered"]:
        clocks["first_response"] = _new_clock(e.at)
    elif state["answered"] and not (clocks.get("next_response") and _active(clocks["next_response"])):
        clocks["next_response"] = _new_clock(e.at)
    if "resolution" not in clocks:
        clocks["resolution"] = _new_clock(e.at)
    return {**state, "facts": facts, "clocks": clocks, "status": "open"}


def _on_human_reply(state: State, e: ReplyRequested) -> State:
    clocks = dict(state["clocks"])
    for name in ("first_response", "next_response"):
        if name in clocks and _active(clocks[name]):
            clocks[name] = _finish(clocks[name], e.at, "met_at")
    return {**state, "clocks": clocks, "answered": True}


def _read_back(state: State, e: SlaWarning | SlaBreached) -> State:
    """The timer's own warning or breach, read back from the log: recorded on its clock."""
    clock = state["clocks"].get(e.clock)
    kind = "warning" if isinstance(e, SlaWarning) else "breach"
    if clock is None or event_id(state["conversation_id"], e.clock, kind, clock["start"]) != e.id:
        return state
    field_ = "warned_at" if kind == "warning" else "breached_at"
    if clock[field_]:
        return state
    return {**state, "clocks": {**state["clocks"], e.clock: {**clock, field_: e.at.isoformat()}}}


def on_event(state: State, event: Event, policies: tuple[Policy, ...], calendars: Mapping[str, Calendar]) -> State:
    """The conversation's clocks after one event of `conversation.events`."""
    if not isinstance(event, ConversationEvent):
        return state
    if not state and isinstance(event, (SlaWarning, SlaBreached)):
        return state  # the read-back of a clock this state no longer holds
    state = state or initial(event)
    e = event
    if isinstance(e, (SlaWarning, SlaBreached)):
        after = _read_back(state, e)
        return {**after, "next": _iso(next_due(after))}
    if isinstance(e, ConversationOpened):
        state = {**state, "facts": {**state["facts"], "channel": e.channel}}
    elif isinstance(e, MessageReceived):
        if isinstance(e.meta, dict) and e.meta.get("automatic"):
            return state  # an out-of-office or other machine-sent mail asks nobody for an answer
        state = _on_customer_message(state, e)
    elif isinstance(e, ReplyRequested):
        if e.author in AUTOMATIC_AUTHORS:
            return state
        state = _on_human_reply(state, e)
    elif isinstance(e, ConversationMarkedPending):
        state = {**state, "status": "pending", "clocks": {n: _pause(c, e.at) for n, c in state["clocks"].items()}}
    elif isinstance(e, ConversationResolved):
        clocks = {n: _finish(c, e.at, "met_at" if n == "resolution" else "stopped_at") for n, c in state["clocks"].items()}
        state = {**state, "status": "resolved", "clocks": clocks}
    elif isinstance(e, ConversationReopened):
        clocks = {n: c for n, c in state["clocks"].items() if _active(c)}
        clocks = {n: _resume(c, e.at) for n, c in clocks.items()}
        if "resolution" not in clocks:
            clocks["resolution"] = _new_clock(e.at)
        state = {**state, "status": "open", "clocks": clocks}
    elif isinstance(e, ComplaintDetected):
        priority = state["facts"]["priority"] if state["facts"]["priority"] == "urgent" else "high"
        state = {**state, "facts": {**state["facts"], "complaint": True, "priority": priority}}
    elif isinstance(e, ConversationTransferred):
        state = {**state, "facts": {**state["facts"], "queue": e.queue}}
    elif isinstance(e, ConversationAssigned):
        state = {**state, "facts": {**state["facts"], "queue": e.queue}}
    else:
        return state
    return _schedule(state, policies, calendars)


def finished(state: State) -> bool:
    """Nothing left to time: resolved (every clock met or stopped, a reopening starts
    afresh) or no clocks (an event about a conversation no longer, or never, kept)."""
    return not state or state.get("status") == "resolved" or not state.get("clocks")


def is_complaint(state: State) -> bool:
    return bool((state.get("facts") or {}).get("complaint")) if state else False


def encode(state: State) -> Any:
    """JSON-able form for the table's changelog."""
    return state


def decode(data: Any) -> State:
    return dict(data or {})


def event_id(conversation_id: str, clock: str, kind: str, start: str) -> str:
    return derived_id("sla", conversation_id, clock, kind, start)


def due(state: State, now: datetime) -> list[SlaWarning | SlaBreached]:
    """Warnings and breaches whose time has come and that are not recorded yet; a warning
    before its breach when both are due (after a restart), so they read in order."""
    out: list[SlaWarning | SlaBreached] = []
    if not state or not state.get("policy"):
        return out
    common = {"contact_id": state["contact_id"], "conversation_id": state["conversation_id"], "policy": state["policy"]}
    for name, clock in state["clocks"].items():
        if not _running(clock) or not clock["due_at"]:
            continue
        due_at, warn_at = _time(clock["due_at"]), _time(clock["warn_at"])
        assert due_at is not None
        if warn_at and warn_at <= now and not clock["warned_at"] and not clock["breached_at"]:
            out.append(SlaWarning(id=event_id(state["conversation_id"], name, "warning", clock["start"]), at=now, clock=name, due_at=due_at, **common))
        if due_at <= now and not clock["breached_at"]:
            overdue = (now - due_at).total_seconds()
            out.append(SlaBreached(id=event_id(state["conversation_id"], name, "breach", clock["start"]), at=now, clock=name, due_at=due_at,
                                   overdue=overdue, **common))
    return out


def next_due(state: State) -> datetime | None:
    """When this conversation's next warning or breach is due, for the timer's schedule."""
    times: list[datetime] = []
    if not state.get("policy"):
        return None
    for clock in state["clocks"].values():
        if not _running(clock) or not clock["due_at"] or clock["breached_at"]:
            continue
        if clock["warn_at"] and not clock["warned_at"]:
            times.append(_time(clock["warn_at"]))  # type: ignore[arg-type]
        times.append(_time(clock["due_at"]))  # type: ignore[arg-type]
    return min(times, default=None)


def view(state: State) -> dict[str, Any]:
    """The clocks as CONTRACT.md shows them: `{policy, first_response, next_response,
    resolution}`, each null until that clock starts under the policy."""
    policy = state.get("policy")
    out: dict[str, Any] = {"policy": policy}
    for name in CLOCKS:
        clock = state.get("clocks", {}).get(name)
        if not policy or clock is None or clock.get("budget") is None:
            out[name] = None
            continue
        out[name] = {
            "started_at": clock["start"], "due_at": clock["due_at"], "warned_at": clock["warned_at"],
            "breached_at": clock["breached_at"], "met_at": clock["met_at"], "stopped_at": clock["stopped_at"],
            "paused": _active(clock) and not _running(clock),
        }
        if out[name]["paused"] and clock.get("left") is not None:
            out[name]["left_seconds"] = round(clock["left"], 1)  # business seconds, counted again on resuming
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
    states: dict[str, State] = {}
    outcomes: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str, str]] = set()

    def note(state: State) -> None:
        for name, clock in state["clocks"].items():
            if not state.get("policy") or clock.get("budget") is None:
                continue
            for kind, at in (("started", clock["start"]), ("met", clock["met_at"])):
                key = (state["conversation_id"], name, clock["start"], kind)
                if at and key not in seen:
                    seen.add(key)
                    outcomes.append({"conversation_id": state["conversation_id"], "policy": state["policy"], "clock": name, "kind": kind,
                                     "start": clock["start"], "due_at": clock["due_at"], "at": at})

    def fire(cid: str, now: datetime) -> None:
        """What the timer would have emitted before `now`, each at its own time."""
        state = states[cid]
        for happened in due(state, now):
            clock = state["clocks"][happened.clock]
            at = happened.due_at if isinstance(happened, SlaBreached) else _time(clock["warn_at"])
            outcomes.append({"conversation_id": cid, "policy": happened.policy, "clock": happened.clock,
                             "kind": "warned" if isinstance(happened, SlaWarning) else "breached",
                             "start": clock["start"], "due_at": happened.due_at.isoformat(), "at": _iso(at)})
            state = on_event(state, happened.replace(at=at), policies, calendars)
        states[cid] = state

    for e in events:
        if not isinstance(e, ConversationEvent) or isinstance(e, (SlaWarning, SlaBreached)):
            continue
        cid = e.conversation_id
        if cid in states:
            fire(cid, e.at)
        before = states.get(cid) or {}
        after = on_event(before, e, policies, calendars)
        if isinstance(e, MessageReceived) and not after["facts"]["complaint"]:
            found = detector.detect(e.text)
            if found:
                after = on_event(after, ComplaintDetected(id=derived_id("complaint", cid, e.id), at=e.at, contact_id=e.contact_id,
                                                          conversation_id=cid, reason=found[1], source=found[0]), policies, calendars)
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
