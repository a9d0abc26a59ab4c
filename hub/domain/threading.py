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


def empty() -> State:
    return {}


def holding(conversation_id: str) -> State:
    """The state of a contact whose open conversation is known from elsewhere (the read model)."""
    return {"open": conversation_id}


def open_conversation(state: State) -> str | None:
    """The contact's open conversation, if any."""
    return state.get("open")


def encode(state: State) -> Any:
    """JSON-able form for the table's changelog."""
    return state


def decode(data: Any) -> State:
    return dict(data or {})


def on_inbound(state: State, msg: InboundMessageAccepted) -> tuple[State, list[Event]]:
    hint = msg.meta.get("thread") or {}
    target = hint.get("conversation_id") if isinstance(hint, dict) else None
    if msg.meta.get("automatic") and (not state.get("open") or target != state.get("open")):
        # An auto-reply or list mail joins only the open conversation it answers; it never
        # opens or reopens one (the edge has logged and counted it).
        return state, []
    if target and not state.get("open") and hint.get("status") == "resolved":
        return _reopened(state, msg, target, hint.get("queue") or "")
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


def _reopened(state: State, msg: InboundMessageAccepted, conversation_id: str, queue: str) -> tuple[State, list[Event]]:
    """The customer answered a resolved conversation (an email reply naming it) while
    nothing else is open: it reopens, as a help desk reopens a solved ticket on reply."""
    reopened = ConversationReopened(id=derived_id("reopened", msg.id), at=msg.at, contact_id=msg.contact_id,
                                    conversation_id=conversation_id, queue=queue, by="customer")
    received = MessageReceived(id=msg.id, at=msg.at, contact_id=msg.contact_id, conversation_id=conversation_id, channel=msg.channel,
                               address=msg.address, name=msg.name, subject=msg.subject, text=msg.text, provider_id=msg.provider_id,
                               attachments=list(msg.attachments), meta=dict(msg.meta))
    return {**state, "open": conversation_id}, [reopened, received]


def on_conversation_event(state: State, event: Event) -> State:
    if isinstance(event, ConversationResolved) and state.get("open") == event.conversation_id:
        return {**state, "open": None}
    if isinstance(event, ConversationReopened):
        return {**state, "open": event.conversation_id}
    return state
