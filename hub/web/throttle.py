"""Login rate limiting: after LIMIT failed sign-ins for one username from one address within
WINDOW seconds, further attempts are refused until the oldest failure leaves the window; a
successful sign-in clears the count. Pure and clock-driven so it is unit-tested without
waiting. Kept in the web process's memory: with several web processes each counts its own
attempts (a shared store would be needed to count across them)."""

from __future__ import annotations

import math
from collections import deque

LIMIT = 5
WINDOW = 60.0
MAX_KEYS = 50_000  # a flood of distinct usernames must not grow memory without bound


class LoginThrottle:
    def __init__(self, limit: int = LIMIT, window: float = WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}

    @staticmethod
    def key(username: str, address: str) -> tuple[str, str]:
        return username.strip().casefold(), address

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def retry_after(self, key: tuple[str, str], now: float) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        times = self._recent(key, now)
        if len(times) < self.limit:
            return 0
        return max(1, math.ceil(times[-self.limit] + self.window - now))

    def failed(self, key: tuple[str, str], now: float) -> None:
        if len(self._failures) >= MAX_KEYS and key not in self._failures:
            self._failures.clear()
        times = self._recent(key, now)
        times.append(now)
        self._failures[key] = times

    def succeeded(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)
