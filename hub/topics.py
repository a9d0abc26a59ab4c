"""Topic names, keys and partition counts: the one place they are written."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str  # what the record key is, for readers of this table
    partitions_setting: str = "partitions"  # which Settings attribute gives the count
    fixed_partitions: int = 0  # a count no setting changes (0: the setting's)

    def partitions_in(self, settings: object) -> int:
        return self.fixed_partitions or int(getattr(settings, self.partitions_setting))


INBOUND = TopicSpec("inbound.messages", "contact id (derived from the channel identity)")
CONVERSATIONS = TopicSpec("conversation.events", "contact id")
ROUTING = TopicSpec("routing", "queue name")
OUTBOUND_WEB = TopicSpec("outbound.web", "chat session")
LIVE = TopicSpec("live", "conversation id")
NOTIFICATIONS = TopicSpec("notifications", "user")
DEADLETTER = TopicSpec("deadletter", "source topic")
#: The log's identity: its first record names this life of the log (hub/archive/identity.py).
LOG = TopicSpec("hub.log", "log id", fixed_partitions=1)

ALL: tuple[TopicSpec, ...] = (
    INBOUND,
    CONVERSATIONS,
    ROUTING,
    OUTBOUND_WEB,
    LIVE,
    NOTIFICATIONS,
    DEADLETTER,
    LOG,
)

#: What the database keeps verbatim (hub/archive): every topic some state is folded from.
#: `live`, `outbound.web` and `notifications` are pushes of the moment; `deadletter` is kept
#: in its own table by the deadletter processor.
ARCHIVED: tuple[TopicSpec, ...] = (INBOUND, CONVERSATIONS, ROUTING)
