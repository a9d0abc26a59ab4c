"""hub/supervise.py: a role that keeps dying young waits longer before each start, up to a
cap; one that ran a healthy while starts again at once."""

from __future__ import annotations

from hub.supervise import FIRST_DELAY, HEALTHY_AFTER, MAX_DELAY, Backoff


def test_a_role_dying_young_waits_twice_as_long_each_time_up_to_the_cap() -> None:
    backoff = Backoff()
    waits = [backoff.after_exit(ran_for=2) for _ in range(8)]
    assert waits[:3] == [FIRST_DELAY, 2 * FIRST_DELAY, 4 * FIRST_DELAY]
    assert max(waits) == MAX_DELAY and waits == sorted(waits)


def test_a_healthy_run_resets_the_wait() -> None:
    backoff = Backoff()
    for _ in range(5):
        backoff.after_exit(ran_for=1)
    assert backoff.after_exit(ran_for=HEALTHY_AFTER) == FIRST_DELAY
