"""Typing indicators: what the agents' and the customers' sockets are sent, and the gate
that keeps a flood of typing signals from becoming a flood of events.

Typing is ephemeral (CustomerTyped / AgentTyped on the `live` topic only): nothing is
projected or stored, so a signal that is late is worth less than none. A web process that
gets one older than STALE_AFTER (a broker that was away, a consumer that lagged) drops it
rather than tell someone a person is typing who stopped long ago."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Hashable

from hub import events as ev

# The widget and the agent page send at most one signal per ~3 s while typing; the server
# allows one per 2 s, so honest clients are never cut and a flood costs one event per 2 s.
MIN_INTERVAL = 2.0
STALE_AFTER = timedelta(seconds=10)
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


def is_stale(event: ev.Event, now: Any = None) -> bool:
    return (now or ev.utcnow()) - event.at > STALE_AFTER


def agents_frame(event: ev.CustomerTyped) -> dict[str, Any]:
    return {"type": "typing", "conversation_id": event.conversation_id, "from": "customer"}


def chat_frame(event: ev.AgentTyped) -> dict[str, Any]:
    return {"type": "typing", "from": "agent", "name": event.agent}
