"""At most one pass per interval per key: the typing signals of agents and customers, and
anything else a flood must not turn into a flood of events. Pure: the clock is passed in."""

from __future__ import annotations

from typing import Hashable

# The widget and the agent page send at most one signal per ~3 s while typing; the server
# allows one per 2 s, so honest clients are never cut and a flood costs one event per 2 s.
MIN_INTERVAL = 2.0
MAX_KEYS = 10_000


class Gate:
    """At most one pass per `interval` seconds per key. Clock-driven (monotonic seconds
    passed in), so it is tested without waiting."""

    def __init__(self, interval: float = MIN_INTERVAL, max_keys: int = MAX_KEYS) -> None:
        self.interval = interval
        self.max_keys = max_keys
        self._last: dict[Hashable, float] = {}

    def allow(self, key: Hashable, now: float) -> bool:
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return False
        if key not in self._last and len(self._last) >= self.max_keys:
            # Forget keys that could pass anyway; if all are recent, forgetting them only
            # lets each through once more, which a typing signal can afford.
            self._last = {k: t for k, t in self._last.items() if now - t < self.interval}
            if len(self._last) >= self.max_keys:
                self._last.clear()
        self._last[key] = now
        return True
