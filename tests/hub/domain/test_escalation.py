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


def run(events: list[ev.Event]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for e in events:
        state = esc.on_event(state, e, LADDERS)
    return state


def fire(state: dict[str, Any], now: datetime) -> tuple[dict[str, Any], list[ev.Escalated]]:
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
    assert run([breached(T0, "resolution")]).get("ladders") == {}
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
