"""Faust views of the topics in hub.topics; values are our own JSON events (hub.events)."""

from __future__ import annotations

from hub import topics
from processors.app import app, settings


def _topic(*specs: topics.TopicSpec):  # type: ignore[no-untyped-def]
    return app.topic(
        *(s.name for s in specs),
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
        internal=False,
    )


inbound = _topic(topics.INBOUND)
conversations = _topic(topics.CONVERSATIONS)
intake_sources = _topic(topics.INBOUND, topics.CONVERSATIONS)
routing = _topic(topics.ROUTING)
live = _topic(topics.LIVE)
deadletter = _topic(topics.DEADLETTER)
