"""Which conversation an inbound message belongs to.

State per contact (kept by the intake processor, on the contact's partition):
`{"open": conversation id or None}`. Ids are derived from the message that opened the
conversation, so reprocessing a message after a crash picks the same conversation.
"""

from __future__ import annotations

from typing import Any

from hub.events import (
    ContactOptedIn,
    ContactOptedOut,
    ConversationOpened,
    ConversationReopened,
    ConversationResolved,
    Event,
    InboundMessageAccepted,
    InboundMessageEdited,
    MessageEdited,
    MessageReceived,
    derived_id,
)

State = dict[str, Any]


def on_inbound(state: State, msg: InboundMessageAccepted) -> tuple[State, list[Event]]:
    conversation_id = state.get("open") or derived_id("conversation", msg.id)
    common = {
        "at": msg.at,
        "contact_id": msg.contact_id,
        "conversation_id": conversation_id,
        "channel": msg.channel,
        "address": msg.address,
        "name": msg.name,
        "subject": msg.subject,
    }
    out: list[Event] = []
    if not state.get("open"):
        out.append(ConversationOpened(id=derived_id("opened", conversation_id), language=msg.language, **common))
    out.append(
        MessageReceived(
            id=msg.id,
            text=msg.text,
            provider_id=msg.provider_id,
            attachments=list(msg.attachments),
            meta=dict(msg.meta),
            **common,
        )
    )
    said = msg.meta.get("keyword")
    if said in ("stop", "start"):
        kind = ContactOptedOut if said == "stop" else ContactOptedIn
        out.append(kind(id=derived_id("opt", said, msg.id), at=msg.at, contact_id=msg.contact_id, conversation_id=conversation_id,
                        channel=msg.channel, address=msg.address, keyword=msg.text.strip()[:40]))
    return {**state, "open": conversation_id}, out


def on_inbound_edit(state: State, msg: InboundMessageEdited) -> list[Event]:
    """An edit changes a message already threaded; it opens nothing and moves no state."""
    return [
        MessageEdited(id=msg.id, at=msg.at, contact_id=msg.contact_id, conversation_id=state.get("open") or "",
                      message_id=msg.message_id, text=msg.text, channel=msg.channel)
    ]


def on_conversation_event(state: State, event: Event) -> State:
    if isinstance(event, ConversationResolved) and state.get("open") == event.conversation_id:
        return {**state, "open": None}
    if isinstance(event, ConversationReopened):
        return {**state, "open": event.conversation_id}
    return state
