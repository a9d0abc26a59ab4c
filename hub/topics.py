"""Topic names, keys and partition counts: the one place they are written."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str  # what the record key is, for readers of this table
    partitions_setting: str = "partitions"  # which Settings attribute gives the count


INBOUND = TopicSpec("inbound.messages", "contact id (derived from the channel identity)")
CONVERSATIONS = TopicSpec("conversation.events", "contact id")
ROUTING = TopicSpec("routing", "queue name")
OUTBOUND_WEB = TopicSpec("outbound.web", "chat session")
LIVE = TopicSpec("live", "conversation id")
NOTIFICATIONS = TopicSpec("notifications", "user")
DEADLETTER = TopicSpec("deadletter", "source topic")

ALL: tuple[TopicSpec, ...] = (
    INBOUND,
    CONVERSATIONS,
    ROUTING,
    OUTBOUND_WEB,
    LIVE,
    NOTIFICATIONS,
    DEADLETTER,
)
