"""Response times from messages, and percentiles checked against hand-computed figures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub.domain.response_times import Message, percentile, summarise, timings

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        # rank = (n - 1) * p / 100, interpolated between the two closest values
        ([10, 20, 30, 40, 100], 50, 30.0),
        ([10, 20, 30, 40, 100], 90, 76.0),  # rank 3.6: 40 + 0.6 * 60
        ([10, 20, 30, 40, 100], 99, 97.6),  # rank 3.96: 40 + 0.96 * 60
        ([100, 10, 40, 30, 20], 90, 76.0),  # order of arrival does not matter
        ([5], 99, 5.0),
        ([1, 2], 50, 1.5),
        ([3, 1, 4, 1, 5, 9, 2, 6], 90, 6.9),  # sorted 1 1 2 3 4 5 6 9; rank 6.3: 6 + 0.3 * 3
    ],
)
def test_percentiles_match_hand_computed_values(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == pytest.approx(expected)


def test_no_values_no_percentile() -> None:
    assert percentile([], 50) is None


def test_first_and_next_responses_only_human_replies_stop_the_clock() -> None:
    msgs = [
        Message("in", at(0), "customer", "web"),
        Message("in", at(5), "customer", "web"),  # still waiting since 0
        Message("out", at(20), "hub", "web"),  # automatic: does not answer
        Message("note", at(30), "alice", "note"),  # private: does not answer
        Message("out", at(60), "alice", "web"),  # first response: 60 s
        Message("out", at(70), "alice", "web"),  # nobody was waiting
        Message("in", at(100), "customer", "sms"),
        Message("out", at(400), "bob", "sms"),  # next response: 300 s, by bob
    ]
    found = timings(msgs, created_at=at(0), resolved_at=at(1000), assignee="bob")
    assert [(t.kind, t.seconds, t.channel, t.agent) for t in found] == [
        ("first_response", 60.0, "web", "alice"),
        ("next_response", 300.0, "sms", "bob"),
        ("resolution", 1000.0, "web", "bob"),
    ]


def test_an_unanswered_conversation_has_no_response_times() -> None:
    assert timings([Message("in", at(0), "c", "web")], created_at=at(0), resolved_at=None, assignee=None) == []


def test_summary_groups_and_business_time() -> None:
    convs = [[Message("in", at(0), "c", "web"), Message("out", at(s), "alice", "web")] for s in (10, 20, 30, 40, 100)]
    pairs = [(t, t.channel) for msgs in convs for t in timings(msgs, at(0), None, None)]
    halved = summarise(pairs, business=lambda a, b: (b - a).total_seconds() / 2)
    assert halved["web"]["first_response"] == {
        "count": 5, "p50": 30.0, "p90": pytest.approx(76.0), "p99": pytest.approx(97.6),
        "business_p50": 15.0, "business_p90": pytest.approx(38.0), "business_p99": pytest.approx(48.8),
    }
