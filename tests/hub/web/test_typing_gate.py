"""The typing gate and staleness rule, pure and clock-driven."""

from __future__ import annotations

from datetime import timedelta

from hub import events as ev
from hub.web.typing import STALE_AFTER, Gate, agents_frame, chat_frame, is_stale


def test_one_pass_per_interval_per_key() -> None:
    gate = Gate(interval=2.0)
    assert gate.allow("a", 100.0)
    assert not gate.allow("a", 101.9)
    assert gate.allow("b", 101.9)  # keys are independent
    assert gate.allow("a", 102.0)
    assert not gate.allow("a", 103.0)


def test_a_flood_of_keys_stays_bounded_and_recent_keys_stay_throttled() -> None:
    gate = Gate(interval=2.0, max_keys=3)
    for i, key in enumerate("abc"):
        assert gate.allow(key, float(i))  # a at 0, b at 1, c at 2
    assert gate.allow("d", 2.5)  # full: a (2.5 s old) is forgotten, b and c are kept
    assert not gate.allow("c", 2.6)
    assert gate.allow("a", 2.6)
    assert len(gate._last) <= 3  # noqa: SLF001


def test_stale_signals_are_dropped() -> None:
    now = ev.utcnow()
    fresh = ev.CustomerTyped(conversation_id="c1", at=now - timedelta(seconds=1))
    old = ev.CustomerTyped(conversation_id="c1", at=now - STALE_AFTER - timedelta(seconds=1))
    assert not is_stale(fresh, now) and is_stale(old, now)


def test_events_round_trip_and_frames() -> None:
    customer = ev.CustomerTyped(conversation_id="c1", contact_id="k1")
    agent = ev.AgentTyped(conversation_id="c1", sessions=["s1", "s2"], agent="alice")
    assert ev.from_json(customer.to_json()) == customer
    assert ev.from_json(agent.to_json()) == agent
    assert agents_frame(customer) == {"type": "typing", "conversation_id": "c1", "from": "customer"}
    assert chat_frame(agent) == {"type": "typing", "from": "agent", "name": "alice"}
