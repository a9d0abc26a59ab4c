"""Typing indicators: what the agents' and the customers' sockets are sent, and the gate
that keeps a flood of typing signals from becoming a flood of events.

Typing is ephemeral (CustomerTyped / AgentTyped on the `live` topic only): nothing is
projected or stored, so a signal that is late is worth less than none. A web process that
gets one older than STALE_AFTER (a broker that was away, a consumer that lagged) drops it
rather than tell someone a person is typing who stopped long ago."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hub import events as ev
from hub.domain.gate import MAX_KEYS, MIN_INTERVAL, Gate

__all__ = ["MAX_KEYS", "MIN_INTERVAL", "STALE_AFTER", "Gate", "agents_frame", "chat_frame", "is_stale"]

STALE_AFTER = timedelta(seconds=10)


def is_stale(event: ev.Event, now: Any = None) -> bool:
    return (now or ev.utcnow()) - event.at > STALE_AFTER


def agents_frame(event: ev.CustomerTyped) -> dict[str, Any]:
    return {"type": "typing", "conversation_id": event.conversation_id, "from": "customer"}


def chat_frame(event: ev.AgentTyped) -> dict[str, Any]:
    return {"type": "typing", "from": "agent", "name": event.agent}
