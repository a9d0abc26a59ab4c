"""The login throttle's arithmetic, with the clock as an argument."""

from __future__ import annotations

from hub.web.throttle import LoginThrottle

KEY = LoginThrottle.key("Alice", "10.0.0.1")


def test_five_failures_in_a_minute_block_until_the_oldest_leaves_the_window() -> None:
    t = LoginThrottle(limit=5, window=60)
    for i in range(5):
        assert t.retry_after(KEY, 100 + i) == 0
        t.failed(KEY, 100 + i)
    assert t.retry_after(KEY, 104.5) == 56  # the first failure (at 100) leaves at 160
    assert t.retry_after(KEY, 159.9) == 1
    assert t.retry_after(KEY, 160) == 0  # four failures left in the window


def test_failures_spread_over_more_than_a_minute_never_block() -> None:
    t = LoginThrottle(limit=5, window=60)
    for i in range(20):
        t.failed(KEY, i * 16.0)
        assert t.retry_after(KEY, i * 16.0) == 0


def test_success_clears_and_keys_are_per_username_and_address() -> None:
    t = LoginThrottle(limit=2, window=60)
    t.failed(KEY, 0)
    t.failed(KEY, 1)
    assert t.retry_after(KEY, 2) > 0
    assert t.retry_after(LoginThrottle.key("alice ", "10.0.0.1"), 2) > 0  # same user, however typed
    assert t.retry_after(LoginThrottle.key("alice", "10.0.0.2"), 2) == 0
    assert t.retry_after(LoginThrottle.key("bob", "10.0.0.1"), 2) == 0
    t.succeeded(KEY)
    assert t.retry_after(KEY, 2) == 0
