"""The customer's `{"type":"typing"}` frame: which conversation it is about, and its event.

The socket knows only its chat session; the conversation is the read model's: the
session's contact (through its identity, which follows a merge) and that contact's
conversation still being worked, else its latest. Before the first message has been
projected there is none, and the signal is dropped: no agent has anything to show it in."""

from __future__ import annotations

import asyncio
import logging

from hub import events as ev
from hub import topics
from hub.bus import BrokerUnavailable
from hub.core import Core
from hub.domain.identity import contact_id_for
from hub.store import lookups

log = logging.getLogger("hub.webchat")
# Publishing waits for the broker's ack; a typing signal must never hold up the message
# frames behind it on the same socket, so it is published from a task of its own.
_in_flight: set[asyncio.Task[None]] = set()


async def conversation_of(hub: Core, session: str) -> tuple[str, str] | None:
    """(conversation id, contact id) of a chat session, or None before its first message."""
    async with hub.db() as s:
        contact = await lookups.linked_contact(s, "web", session) or contact_id_for("web", session)
        conversation = await lookups.current_conversation(s, contact)
    return (conversation, contact) if conversation else None


async def _publish(hub: Core, session: str) -> None:
    try:
        found = await conversation_of(hub, session)
        if found is None or hub.stopping:
            return
        conversation_id, contact_id = found
        await hub.bus.publish(topics.LIVE, conversation_id, ev.CustomerTyped(conversation_id=conversation_id, contact_id=contact_id))
    except BrokerUnavailable:
        log.info("typing signal not published", extra={"session": session})
    except Exception:  # noqa: BLE001 - a typing signal is never worth a socket
        log.exception("typing signal failed", extra={"session": session})


def customer_typed(hub: Core, session: str) -> None:
    task = asyncio.create_task(_publish(hub, session))
    _in_flight.add(task)
    task.add_done_callback(_in_flight.discard)
