"""Which conversation an inbound message belongs to.

State per contact (kept by the intake processor, on the contact's partition):
`{"open": conversation id or None}`. Ids are derived from the message that opened the
conversation, so reprocessing a message after a crash picks the same conversation.
"""

from __future__ import annotations

from typing import Any

from hub.events import (
    ConversationOpened,
    ConversationReopened,
    ConversationResolved,
    Event,
    InboundMessageAccepted,
    MessageReceived,
    derived_id,
)

State = dict[str, Any]


def on_inbound(state: State, msg: InboundMessageAccepted) -> tuple[State, list[Event]]:
    out: list[Event] = []
    conversation_id = state.get("open")
    if not conversation_id:
        conversation_id = derived_id("conversation", msg.id)
        out.append(
            ConversationOpened(
                id=derived_id("opened", conversation_id),
                at=msg.at,
                contact_id=msg.contact_id,
                conversation_id=conversation_id,
                channel=msg.channel,
                address=msg.address,
                name=msg.name,
                subject=msg.subject,
                language=msg.language,
            )
        )
    out.append(
        MessageReceived(
            id=msg.id,
            at=msg.at,
            contact_id=msg.contact_id,
            conversation_id=conversation_id,
            channel=msg.channel,
            address=msg.address,
            name=msg.name,
            text=msg.text,
            subject=msg.subject,
            provider_id=msg.provider_id,
            attachments=list(msg.attachments),
            meta=dict(msg.meta),
        )
    )
    return {**state, "open": conversation_id}, out


def on_conversation_event(state: State, event: Event) -> State:
    if isinstance(event, ConversationResolved) and state.get("open") == event.conversation_id:
        return {**state, "open": None}
    if isinstance(event, ConversationReopened):
        return {**state, "open": event.conversation_id}
    return state
