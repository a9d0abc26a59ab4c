"""Escalation ladders as pure functions: triggers, levels in order, acknowledgement, resolution."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from hub import events as ev
from hub.config import ConfigError
from hub.domain import escalation as esc

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
CONFIG = {
    "escalation": [
        {"name": "unresolved-complaint", "when": {"complaint": True},
         "levels": [{"after": "1h", "notify": ["role:lead"]}, {"after": "4h", "notify": ["role:manager"]}]},
        {"name": "late-first-answer", "when": {"breached": "first_response"}, "levels": [{"after": "0s", "notify": ["role:lead"]}]},
    ]
}
LADDERS = esc.parse_ladders(CONFIG)
COMMON = {"contact_id": "k1", "conversation_id": "c1"}


def complaint(at: datetime) -> ev.ComplaintDetected:
    return ev.ComplaintDetected(at=at, reason="text: شکایت", **COMMON)


def breached(at: datetime, clock: str) -> ev.SlaBreached:
    return ev.SlaBreached(at=at, clock=clock, policy="p", due_at=at, **COMMON)


def run(events: list[ev.Event]) -> esc.Ladders:
    state = esc.decode(None)
    for e in events:
        state = esc.on_event(state, e, LADDERS)
    return state


def fire(state: esc.Ladders, now: datetime) -> tuple[esc.Ladders, list[ev.Escalated]]:
    """What the processor does: emit what is due, then read its own events back."""
    out = esc.due(state, "c1", now, LADDERS)
    for e in out:
        state = esc.on_event(state, e, LADDERS)
    return state, out


def test_a_complaint_climbs_level_by_level_each_once() -> None:
    state = run([complaint(T0)])
    assert esc.next_due(state, LADDERS) == T0 + timedelta(hours=1)
    state, out = fire(state, T0 + timedelta(minutes=59, seconds=59))
    assert out == []
    state, out = fire(state, T0 + timedelta(hours=1))
    assert [(e.level, e.notify, e.ladder) for e in out] == [(1, ["role:lead"], "unresolved-complaint")]
    assert out[0].id == ev.derived_id("escalated", "c1", "unresolved-complaint", "1")
    state, again = fire(state, T0 + timedelta(hours=2))
    assert again == []  # level 1 fired once; level 2 is not due yet
    state, out = fire(state, T0 + timedelta(hours=4, seconds=1))
    assert [(e.level, e.notify) for e in out] == [(2, ["role:manager"])]
    assert out[0].id == ev.derived_id("escalated", "c1", "unresolved-complaint", "2")
    assert (out[0].contact_id, out[0].due_at, out[0].reason) == ("k1", T0 + timedelta(hours=4), "complaint: text: شکایت")
    state, out = fire(state, T0 + timedelta(days=3))
    assert out == [] and esc.next_due(state, LADDERS) is None


def test_a_restart_after_both_deadlines_fires_the_levels_in_order() -> None:
    state = run([complaint(T0)])
    late = T0 + timedelta(hours=10)
    state, first = fire(state, late)
    state, second = fire(state, late)
    assert [e.level for e in first + second] == [1, 2]


def test_acknowledgement_stops_the_climb_and_resolution_stops_every_ladder() -> None:
    state, out = fire(run([complaint(T0)]), T0 + timedelta(hours=1))
    ack = ev.EscalationAcknowledged(at=T0 + timedelta(hours=1, minutes=5), escalation_id=out[0].id, ladder="unresolved-complaint", by="maria", **COMMON)
    acked = esc.on_event(state, ack, LADDERS)
    assert fire(acked, T0 + timedelta(hours=9))[1] == []
    resolved = esc.on_event(state, ev.ConversationResolved(at=T0 + timedelta(hours=2), **COMMON), LADDERS)
    assert fire(resolved, T0 + timedelta(hours=9))[1] == [] and esc.next_due(resolved, LADDERS) is None


def test_a_breach_starts_only_the_ladder_for_that_clock_and_a_repeat_does_not_restart_it() -> None:
    assert run([breached(T0, "resolution")]).runs == {}
    state = run([breached(T0, "first_response")])
    state, out = fire(state, T0)
    assert [(e.ladder, e.level, e.reason) for e in out] == [("late-first-answer", 1, "first_response breached")]
    state = esc.on_event(state, breached(T0 + timedelta(hours=1), "first_response"), LADDERS)
    assert fire(state, T0 + timedelta(hours=2))[1] == []


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ({"escalation": [{"when": {"complaint": True}, "levels": []}]}, "needs a name"),
        ({"escalation": [{"name": "x", "when": {"angry": True}, "levels": [{"after": "1h", "notify": ["role:lead"]}]}]}, "when"),
        ({"escalation": [{"name": "x", "when": {"complaint": True}, "levels": [{"after": "soon", "notify": ["role:lead"]}]}]}, "levels[0].after"),
        ({"escalation": [{"name": "x", "when": {"complaint": True}, "levels": [{"after": "1h", "notify": ["boss"]}]}]}, "notify"),
        ({"escalation": [{"name": "x", "when": {"complaint": True}, "levels": [{"after": "4h", "notify": ["role:lead"]}, {"after": "1h", "notify": ["role:manager"]}]}]}, "before the level above"),
    ],
)
def test_bad_ladders_name_the_key(raw: dict[str, Any], names: str) -> None:
    with pytest.raises(ConfigError, match=names.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        esc.parse_ladders(raw)


def ack(ladder: str = "") -> ev.EscalationAcknowledged:
    return ev.EscalationAcknowledged(at=T0 + timedelta(hours=1), escalation_id="e", ladder=ladder, by="maria", **COMMON)


def test_the_state_is_typed_with_aware_times() -> None:
    state = run([complaint(T0 + timedelta(microseconds=123456))])
    assert state == esc.Ladders("k1", {"unresolved-complaint": esc.Run(T0 + timedelta(microseconds=123456), 0, False, "complaint: text: شکایت")})
    assert state.runs["unresolved-complaint"].since.tzinfo is not None
    assert esc.running(state) and not esc.running(esc.decode(None)) and not esc.running(None)


def test_nothing_known_may_be_none_or_empty() -> None:
    for nothing in (None, esc.decode(None), esc.Ladders()):
        assert esc.on_event(nothing, complaint(T0), LADDERS) == run([complaint(T0)])
        assert esc.due(nothing, "c1", T0 + timedelta(days=9), LADDERS) == [] and esc.next_due(nothing, LADDERS) is None
    assert esc.on_event(None, ev.NoteAdded(text="n", author="a", **COMMON), LADDERS) == esc.Ladders("k1", {})
    assert esc.on_event(None, ev.ConversationResolved(**COMMON), LADDERS) == esc.Ladders("k1", {})


@pytest.mark.parametrize(
    "events",
    [
        [],
        [complaint(T0)],
        [complaint(T0), breached(T0 + timedelta(seconds=1.5), "first_response"), ack("late-first-answer")],
        [ev.ConversationResolved(**COMMON)],
    ],
)
def test_encode_decode_round_trip_through_json(events: list[ev.Event]) -> None:
    import json

    state = run(events)
    state, _ = fire(state, T0 + timedelta(hours=1, microseconds=999999))
    data = json.loads(json.dumps(esc.encode(state), ensure_ascii=False))
    assert esc.decode(data) == state
    assert "since" not in json.dumps(data)  # lists, not key names
    for name, r in esc.decode(data).runs.items():
        assert r.since == state.runs[name].since and r.since.utcoffset() == timedelta(0)


def test_decode_reads_the_older_dict_state() -> None:
    old = {"contact_id": "k1", "ladders": {"unresolved-complaint": {"since": T0.isoformat(), "fired": 1, "acked": False, "reason": "complaint: x"}}}
    state = esc.decode(old)
    assert state == esc.Ladders("k1", {"unresolved-complaint": esc.Run(T0, 1, False, "complaint: x")})
    assert esc.next_due(state, LADDERS) == T0 + timedelta(hours=4)
    assert esc.decode({}) == esc.decode(None) == esc.Ladders()


def test_on_event_never_changes_the_state_it_is_given() -> None:
    state, _ = fire(run([complaint(T0), breached(T0, "first_response")]), T0)
    before = esc.encode(state)
    runs = dict(state.runs)
    later = T0 + timedelta(hours=5)
    for e in [complaint(later), breached(later, "first_response"), ack(), ack("unresolved-complaint"), ev.ConversationResolved(**COMMON),
              *esc.due(state, "c1", later, LADDERS)]:
        after = esc.on_event(state, e, LADDERS)
        assert esc.encode(state) == before and state.runs == runs, e
        assert after is not state or e.type in ("ComplaintDetected", "SlaBreached")
    # what changes nothing hands back the same object, so the processor writes nothing
    assert esc.on_event(state, complaint(later), LADDERS) is state
    assert esc.on_event(state, ev.NoteAdded(text="n", author="a", **COMMON), LADDERS) is state
    with pytest.raises(AttributeError):
        state.runs["unresolved-complaint"].fired = 3  # type: ignore[misc]


def test_acknowledging_one_ladder_leaves_the_others_climbing() -> None:
    state = run([complaint(T0), breached(T0, "first_response"), ack("late-first-answer")])
    assert [e.ladder for e in esc.due(state, "c1", T0 + timedelta(hours=1), LADDERS)] == ["unresolved-complaint"]
    assert esc.running(state)
    assert esc.due(esc.on_event(state, ack(), LADDERS), "c1", T0 + timedelta(days=1), LADDERS) == []
