"""SLA clocks as pure functions: policy choice, starts, human replies, pause and resume,
a complaint switching the policy, warnings and breaches once, and replay; the typed state
is never changed in place and its changelog form reads back to the same state."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub import events as ev
from hub.config import ConfigError
from hub.domain import calendar as cal
from hub.domain import sla
from hub.domain.complaints import Detector

CALS = cal.BUILTIN
TEHRAN = ZoneInfo("Asia/Tehran")
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=TEHRAN)  # a Sunday, 09:00 in Tehran
C = {"contact_id": "k1", "conversation_id": "c1"}

POLICIES = sla.parse_policies(
    {"sla": [
        {"name": "complaint", "when": {"complaint": True}, "calendar": "24x7", "first_response": "10m", "next_response": "30m", "resolution": "1d"},
        {"name": "vip", "when": {"tier": ["gold", "platinum"]}, "calendar": "24x7", "first_response": "5m"},
        {"name": "office", "calendar": "tehran", "first_response": "4h", "next_response": "2h", "resolution": "2d", "warn_at": 0.5},
    ]},
    CALS,
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iso(minutes: float) -> str:
    return at(minutes).astimezone(timezone.utc).isoformat()  # events hold UTC


def msg(minutes: float, n: int = 0, **kw: Any) -> ev.MessageReceived:
    return ev.MessageReceived(id=f"in-{n}-{minutes}", at=at(minutes), channel="web", address="s1", text="hi", **C, **kw)


def reply(minutes: float, author: str = "alice") -> ev.ReplyRequested:
    return ev.ReplyRequested(at=at(minutes), channel="web", address="s1", text="ok", author=author, **C)


def run(*events: ev.Event, policies: tuple[sla.Policy, ...] = POLICIES) -> sla.State:
    state: sla.State | None = sla.empty()
    for e in events:
        state = sla.on_event(state, e, policies, CALS)
    assert state is not None
    return state


def due_at(state: sla.State, clock: str) -> datetime:
    value = state.clocks[clock].due_at
    assert value is not None
    return value


def test_policies_are_chosen_by_conditions_first_match_wins() -> None:
    assert sla.choose(POLICIES, {"complaint": True, "tier": "gold"}).name == "complaint"  # type: ignore[union-attr]
    assert sla.choose(POLICIES, {"complaint": False, "tier": "gold"}).name == "vip"  # type: ignore[union-attr]
    assert sla.choose(POLICIES, {"complaint": False, "tier": None}).name == "office"  # type: ignore[union-attr]
    assert sla.choose(POLICIES[:2], {"complaint": False}) is None  # no match, no clocks
    assert run(msg(0), policies=POLICIES[:2]).policy is None
    assert sla.due(run(msg(0), policies=POLICIES[:2]), at(10_000)) == []


def test_first_response_in_business_time_and_a_human_reply_meets_it() -> None:
    s = run(msg(0))
    assert s.policy == "office"
    assert due_at(s, "first_response") == at(4 * 60)  # 09:00 + 4 h = 13:00
    assert s.clocks["first_response"].warn_at == at(2 * 60)  # warn_at 0.5
    # "2d" is 48 hours of business time: from Sunday 09:00, Sun 8 + Mon 9 + Tue 9 + Wed 9 + Thu 5 = 40, Sat 08:00 + 8 h
    assert due_at(s, "resolution") == datetime(2026, 11, 28, 16, 0, tzinfo=TEHRAN)
    s = run(msg(0), reply(30, author="bot"), reply(31, author="hub"))  # automatic: the clock keeps running
    assert s.clocks["first_response"].met_at is None and s.next is not None
    s = run(msg(0), reply(30, author="bot"), reply(40))
    assert s.clocks["first_response"].met_at == at(40)
    assert sla.due(s, at(10 * 60)) == [e for e in sla.due(s, at(10 * 60)) if e.clock == "resolution"]


def test_next_response_starts_with_each_message_after_a_reply() -> None:
    s = run(msg(0), reply(10), msg(20, 1), msg(25, 2))
    nxt = s.clocks["next_response"]
    assert nxt.start == at(20)  # the first unanswered message starts it; the second waits with it
    assert due_at(s, "next_response") == at(20 + 120)
    s = sla.on_event(s, reply(50), POLICIES, CALS)
    assert s.clocks["next_response"].met_at == at(50)
    s = sla.on_event(s, msg(60, 3), POLICIES, CALS)
    assert s.clocks["next_response"].start == at(60) and s.clocks["next_response"].met_at is None


def test_an_automatic_mail_asks_for_no_answer() -> None:
    s = run(msg(0), reply(10), msg(20, 1, meta={"automatic": True}))  # an out-of-office to our reply
    assert "next_response" not in s.clocks or s.clocks["next_response"].met_at is not None
    s = run(msg(0), reply(10), msg(20, 1))  # the same words from a person do
    assert s.clocks["next_response"].start == at(20)


def test_a_deadline_crossing_the_weekend_in_tehran() -> None:
    thursday_noon = datetime(2026, 11, 26, 12, 0, tzinfo=TEHRAN)
    s = run(ev.MessageReceived(id="in-thu", at=thursday_noon, channel="web", address="s1", **C))
    # 4 business hours from Thursday 12:00: 1 h Thursday, Friday off, 3 h from Saturday 08:00
    assert due_at(s, "first_response") == datetime(2026, 11, 28, 11, 0, tzinfo=TEHRAN)


def test_pending_pauses_and_the_customer_resumes() -> None:
    # reply at 09:30 meets first response; pending at 10:00 with 1.5 h of resolution spent
    s = run(msg(0), reply(30), ev.ConversationMarkedPending(at=at(60), **C))
    res = s.clocks["resolution"]
    assert res.due_at is None and sla.view(s)["resolution"]["paused"] is True
    assert sla.view(s)["resolution"]["left_seconds"] == 47 * 3600  # 48 h budget, 1 h spent
    assert "left_seconds" not in sla.view(s)["first_response"]  # met, not paused
    assert sla.due(s, at(60 * 24 * 30)) == []  # nothing fires while it waits on the customer
    # the customer answers on Monday at 09:00: the budget left (48 h - 1 h) counts from there
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=TEHRAN)
    s = sla.on_event(s, ev.MessageReceived(id="in-mon", at=monday, channel="web", address="s1", **C), POLICIES, CALS)
    assert s.status == "open" and sla.view(s)["resolution"]["paused"] is False
    assert due_at(s, "resolution") == cal.add_business(CALS["tehran"], monday, 47 * 3600)
    # Mon 8, Tue 9, Wed 9, Thu 5, Fri off, Sat 9 = 40 h; Sunday 08:00 + 7 h
    assert due_at(s, "resolution") == datetime(2026, 11, 29, 15, 0, tzinfo=TEHRAN)
    assert due_at(s, "next_response") == monday + timedelta(hours=2)


def test_warning_then_breach_each_once_with_derived_ids() -> None:
    s = run(msg(0))
    assert sla.due(s, at(119)) == []
    warned = sla.due(s, at(120))
    assert [type(e).__name__ for e in warned] == ["SlaWarning"] and warned[0].clock == "first_response"
    assert warned[0].id == sla.due(s, at(121))[0].id  # the same id however often it is asked
    # built from the start as an ISO string, as before the state was typed: ids already in the log still match
    assert warned[0].id == sla.event_id("c1", "first_response", "warning", iso(0)) == ev.derived_id("sla", "c1", "first_response", "warning", iso(0))
    s = sla.on_event(s, warned[0], POLICIES, CALS)  # read back
    assert s.clocks["first_response"].warned_at == at(120)
    assert sla.due(s, at(200)) == []
    breached = sla.due(s, at(241))
    assert [type(e).__name__ for e in breached] == ["SlaBreached"] and breached[0].overdue == 60
    assert breached[0].due_at == at(240) and breached[0].id == sla.event_id("c1", "first_response", "breach", iso(0))
    s = sla.on_event(s, breached[0], POLICIES, CALS)
    assert [e for e in sla.due(s, at(500)) if e.clock == "first_response"] == []
    assert sla.view(s)["first_response"]["breached_at"] == iso(241)


def test_after_a_long_absence_both_fire_warning_first() -> None:
    out = sla.due(run(msg(0)), at(60 * 24 * 7))
    kinds = [(e.clock, type(e).__name__) for e in out]
    assert kinds.index(("first_response", "SlaWarning")) < kinds.index(("first_response", "SlaBreached"))


def test_a_complaint_switches_the_policy_from_the_clocks_starts() -> None:
    s = run(msg(0), ev.ComplaintDetected(at=at(3), reason="x", **C))
    assert s.policy == "complaint" and s.facts.priority == "high" and sla.is_complaint(s)
    assert due_at(s, "first_response") == at(10)  # 10 m from the message, not from the complaint
    assert due_at(s, "resolution") == at(24 * 60)


def test_queue_from_assignment_and_transfer_is_a_condition() -> None:
    policies = sla.parse_policies({"sla": [{"name": "sales", "when": {"queue": "sales"}, "first_response": "1m"},
                                           {"name": "rest", "first_response": "1h"}]}, CALS)
    s = run(msg(0), ev.ConversationAssigned(at=at(0.1), queue="support", **C), policies=policies)
    assert s.policy == "rest"
    s = sla.on_event(s, ev.ConversationTransferred(at=at(1), from_queue="support", queue="sales", by="alice", **C), policies, CALS)
    assert s is not None and s.policy == "sales" and due_at(s, "first_response") == at(1)


def test_resolution_meets_and_stops_everything_and_reopen_restarts_it() -> None:
    s = run(msg(0), ev.ConversationResolved(at=at(20), **C))
    assert s.clocks["resolution"].met_at == at(20)
    assert s.clocks["first_response"].stopped_at == at(20)
    assert sla.due(s, at(60 * 24 * 30)) == [] and s.next is None and sla.finished(s)
    s = sla.on_event(s, ev.ConversationReopened(at=at(30), **C), POLICIES, CALS)
    assert s is not None and s.clocks["resolution"].start == at(30) and "first_response" not in s.clocks and not sla.finished(s)


def test_the_view_is_contract_shaped() -> None:
    v = sla.view(run(msg(0), policies=sla.parse_policies({"sla": [{"name": "p", "first_response": "5s"}]}, CALS)))
    assert v["policy"] == "p" and v["next_response"] is None and v["resolution"] is None  # not in the policy
    assert set(v["first_response"]) >= {"due_at", "warned_at", "breached_at", "met_at"}
    nothing = {"policy": None, "first_response": None, "next_response": None, "resolution": None}
    assert sla.view(None) == sla.view({}) == nothing  # type: ignore[arg-type]  # {}: the table's default


def test_a_single_sla_table_is_one_policy_for_everything() -> None:
    (policy,) = sla.parse_policies({"sla": {"first_response": "15m"}}, CALS)
    assert (policy.name, policy.when, policy.first_response, policy.calendar) == ("default", {}, 900.0, "24x7")


@pytest.mark.parametrize(
    "raw,named",
    [
        ({"sla": [{"first_response": "5m"}]}, "sla[0] needs a name"),
        ({"sla": [{"name": "a", "first_response": "soon"}]}, "sla[0].first_response"),
        ({"sla": [{"name": "a", "first_response": "5m", "calendar": "mars"}]}, "sla[0].calendar"),
        ({"sla": [{"name": "a", "first_response": "5m", "when": {"weather": "rain"}}]}, "sla[0].when"),
        ({"sla": [{"name": "a", "first_response": "5m", "warn_at": 1.5}]}, "sla[0].warn_at"),
        ({"sla": [{"name": "a"}]}, "sla[0] sets no clock"),
        ({"sla": [{"name": "a", "first_reponse": "5m"}]}, "sla[0] has unknown keys: first_reponse"),
    ],
)
def test_a_bad_policy_names_its_key(raw: dict, named: str) -> None:
    with pytest.raises(ConfigError) as info:
        sla.parse_policies(raw, CALS)
    assert named in str(info.value)


def test_replay_reports_what_the_current_policies_would_have_breached() -> None:
    utc0 = datetime(2026, 11, 22, 6, 0, tzinfo=timezone.utc)
    k = {"contact_id": "k9"}
    history: list[ev.Event] = [
        # answered after 3 minutes
        ev.MessageReceived(id="a1", at=utc0, channel="web", address="a", text="hello", conversation_id="A", **k),
        ev.ReplyRequested(at=utc0 + timedelta(minutes=3), channel="web", address="a", text="hi", author="alice", conversation_id="A", **k),
        # answered by a bot only, then by a human after 8 minutes
        ev.MessageReceived(id="b1", at=utc0, channel="web", address="b", text="hello", conversation_id="B", **k),
        ev.ReplyRequested(at=utc0 + timedelta(minutes=1), channel="web", address="b", text="auto", author="bot", conversation_id="B", **k),
        ev.ReplyRequested(at=utc0 + timedelta(minutes=8), channel="web", address="b", text="hi", author="alice", conversation_id="B", **k),
        # a complaint by its words: the complaint policy applies from the message on
        ev.MessageReceived(id="c1", at=utc0, channel="web", address="c", text="از پشتيباني شما شكايت دارم", conversation_id="C", **k),
        # the log's own breach from older policies is ignored
        ev.SlaBreached(at=utc0, clock="first_response", policy="old", due_at=utc0, conversation_id="A", **k),
    ]
    policies = sla.parse_policies({"sla": [
        {"name": "complaint", "when": {"complaint": True}, "first_response": "2m"},
        {"name": "chat", "first_response": "5m", "warn_at": 0.5},
    ]}, CALS)
    out = sla.replay(history, policies, CALS, Detector(), now=utc0 + timedelta(hours=1))
    got = sorted((o["conversation_id"], o["policy"], o["clock"], o["kind"]) for o in out)
    assert got == sorted([
        ("A", "chat", "first_response", "started"), ("A", "chat", "first_response", "warned"), ("A", "chat", "first_response", "met"),
        ("B", "chat", "first_response", "started"), ("B", "chat", "first_response", "warned"),
        ("B", "chat", "first_response", "breached"), ("B", "chat", "first_response", "met"),
        ("C", "complaint", "first_response", "started"), ("C", "complaint", "first_response", "warned"),
        ("C", "complaint", "first_response", "breached"),
    ])
    b_breach = next(o for o in out if o["conversation_id"] == "B" and o["kind"] == "breached")
    assert b_breach["at"] == (utc0 + timedelta(minutes=5)).isoformat()
    assert sla.summarise(out)["chat"]["first_response"] == {"started": 2, "met": 2, "warned": 2, "breached": 1}


def test_the_view_keeps_its_json_shape_iso_strings_and_left_seconds() -> None:
    v = sla.view(run(msg(0), reply(30), ev.ConversationMarkedPending(at=at(60), **C)))
    assert v == {
        "policy": "office",
        "first_response": {"started_at": iso(0), "due_at": iso(240), "warned_at": None, "breached_at": None, "met_at": iso(30),
                           "stopped_at": None, "paused": False},
        "next_response": None,
        "resolution": {"started_at": iso(0), "due_at": None, "warned_at": None, "breached_at": None, "met_at": None, "stopped_at": None,
                       "paused": True, "left_seconds": 47 * 3600.0},
    }
    assert json.loads(json.dumps(v)) == v


def a_conversations_life() -> list[ev.Event]:
    """Opened, written to, pending, answered, breached (the timer's read-back), resolved and
    reopened, a complaint and a transfer: every kind of change the state goes through."""
    s = run(ev.ConversationOpened(id="o", at=at(0), channel="web", address="s1", **C), msg(1, meta={"tier": "silver"}))
    events: list[ev.Event] = [ev.ConversationOpened(id="o", at=at(0), channel="web", address="s1", **C), msg(1, meta={"tier": "silver"})]
    events += sla.due(s, at(121.5))  # the warning, read back
    events += [ev.ConversationMarkedPending(at=at(130.25), **C), msg(200, 1), reply(210), msg(215, 2)]
    s = run(*events)
    events += sla.due(s, at(24 * 60))  # the next response's and the resolution's warnings and breaches
    events += [ev.ConversationResolved(at=at(24 * 60 + 1), **C), ev.ConversationReopened(at=at(24 * 60 + 2), **C),
               ev.ComplaintDetected(at=at(24 * 60 + 3), reason="x", **C),
               ev.ConversationTransferred(at=at(24 * 60 + 4), from_queue="support", queue="sales", by="alice", **C), msg(24 * 60 + 5, 3)]
    return events


def test_the_changelog_form_reads_back_to_the_same_state_at_every_step() -> None:
    events = a_conversations_life()
    assert {type(e).__name__ for e in events} >= {"SlaWarning", "SlaBreached", "ConversationReopened", "ComplaintDetected", "ConversationTransferred"}
    state: sla.State | None = None
    seen: set[str] = set()
    for e in events:
        state = sla.on_event(state, e, POLICIES, CALS)
        assert state is not None
        data = json.loads(json.dumps(sla.encode(state)))  # as the changelog stores it
        back = sla.decode(data)
        assert back == state and sla.view(back) == sla.view(state) and back.next == sla.next_due(state)
        assert sla.due(back, at(10_000)) == sla.due(state, at(10_000))  # the same ids, the same times
        seen |= {state.status} | {f for c in state.clocks.values() for f in ("warned_at", "breached_at", "met_at", "left") if getattr(c, f)}
    assert seen >= {"open", "pending", "resolved", "warned_at", "breached_at", "met_at", "left"}
    assert state is not None and state.policy == "complaint" and state.facts.queue == "sales" and state.facts.tier == "silver"
    for c in state.clocks.values():  # times stay aware and in UTC, so isoformat() reads as the events do
        assert all(t.utcoffset() == timedelta(0) for run_ in c.runs for t in run_ if t is not None)


def test_nothing_known_is_none_throughout() -> None:
    warning = ev.SlaWarning(at=at(1), clock="first_response", policy="office", due_at=at(1), **C)
    assert sla.empty() is None and sla.decode(None) is None and sla.decode(sla.encode(None)) is None
    assert sla.on_event(None, warning, POLICIES, CALS) is None  # the read-back of a clock no longer held
    assert sla.on_event({}, warning, POLICIES, CALS) is None  # type: ignore[arg-type]  # the table's default
    assert sla.on_event(None, ev.Event(), POLICIES, CALS) is None
    assert sla.finished(None) and not sla.is_complaint(None) and sla.due(None, at(0)) == [] and sla.next_due(None) is None


def test_on_event_leaves_the_state_it_was_given_unchanged() -> None:
    state: sla.State | None = None
    changed = 0
    for e in a_conversations_life():
        if state is not None:
            copy, verbose = sla.decode(sla.encode(state)), dataclasses.asdict(state)
        after = sla.on_event(state, e, POLICIES, CALS)
        if state is not None:
            assert state == copy and dataclasses.asdict(state) == verbose  # callers compare before and after
            changed += after != state
        state = after
    assert changed >= 10
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.status = "open"  # type: ignore[misc,union-attr]


def legacy(state: sla.State) -> dict[str, Any]:
    """The dict the state was before it was typed, as the changelog held it."""
    def clock(c: sla.Clock) -> dict[str, Any]:
        times = {k: (v.isoformat() if v else None) for k, v in dataclasses.asdict(c).items() if k not in ("runs", "budget", "left")}
        return {**times, "runs": [[a.isoformat(), b.isoformat() if b else None] for a, b in c.runs], "budget": c.budget, "left": c.left}
    return {"contact_id": state.contact_id, "conversation_id": state.conversation_id, "status": state.status, "answered": state.answered,
            "facts": dataclasses.asdict(state.facts), "policy": state.policy, "clocks": {n: clock(c) for n, c in state.clocks.items()},
            "next": state.next.isoformat() if state.next else None}


def test_the_changelog_form_is_much_smaller_than_the_dict_it_replaces() -> None:
    # a complaint answered once and written to again: three clocks, two of them running, one warned
    s = run(msg(0.001), reply(2), msg(3, 1), ev.ComplaintDetected(at=at(3.5), reason="x", **C))
    s = sla.on_event(s, sla.due(s, at(28))[0], POLICIES, CALS)  # the next response's warning, at 80 % of 30 m
    assert s is not None and len(s.clocks) == 3 and sum(1 for c in s.clocks.values() if c.runs[-1][1] is None) == 2
    compact = json.dumps(sla.encode(s), separators=(",", ":"))
    old = json.dumps(legacy(s))
    verbose = json.dumps(dataclasses.asdict(s), default=lambda t: t.isoformat())
    print(f"sla state: compact {len(compact)} B, old dict {len(old)} B, asdict {len(verbose)} B")
    assert len(compact) < len(old) and len(compact) < len(verbose)
    assert sla.decode(json.loads(old)) == s  # a changelog written before the typed state still recovers
