"""Which conversation an inbound message belongs to.

State per contact (kept by the intake processor, on the contact's partition): a `Thread`
naming the open conversation, or None. Ids are derived from the message that opened the
conversation, so reprocessing a message after a crash picks the same conversation.

The functions never change the state they are given (the processor compares before and
after to decide whether to write the table); they return a new `Thread` when it changes.
`encode` gives `[open]` for the changelog; `decode` also reads the older `{"open": ...}`.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(slots=True, frozen=True)
class Thread:
    open: str | None = None  # the contact's open conversation


State = Thread
_EMPTY = Thread()


def empty() -> Thread:
    return _EMPTY


def holding(conversation_id: str) -> Thread:
    """The state of a contact whose open conversation is known from elsewhere (the read model)."""
    return Thread(conversation_id)


def open_conversation(state: Thread) -> str | None:
    """The contact's open conversation, if any."""
    return state.open


def encode(state: Thread) -> list[str | None]:
    """JSON-able form for the table's changelog: `[open]` (a list, so a field can be added)."""
    return [state.open]


def decode(data: Any) -> Thread:
    if not data:
        return _EMPTY
    if isinstance(data, dict):  # written before the state was typed
        return Thread(data.get("open") or None)
    return Thread(data[0])


def _opened(state: Thread, conversation_id: str) -> Thread:
    # the same object when nothing moved, so the caller's comparison is cheap and writes nothing
    return state if state.open == conversation_id else Thread(conversation_id)


def on_inbound(state: Thread, msg: InboundMessageAccepted) -> tuple[Thread, list[Event]]:
    hint = msg.meta.get("thread") or {}
    target = hint.get("conversation_id") if isinstance(hint, dict) else None
    if msg.meta.get("automatic") and (not state.open or target != state.open):
        # An auto-reply or list mail joins only the open conversation it answers; it never
        # opens or reopens one (the edge has logged and counted it).
        return state, []
    if target and not state.open and hint.get("status") == "resolved":
        return _reopened(state, msg, target, hint.get("queue") or "")
    conversation_id = state.open or derived_id("conversation", msg.id)
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
    if not state.open:
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
    return _opened(state, conversation_id), out


def on_inbound_edit(state: Thread, msg: InboundMessageEdited) -> list[Event]:
    """An edit changes a message already threaded; it opens nothing and moves no state."""
    return [
        MessageEdited(id=msg.id, at=msg.at, contact_id=msg.contact_id, conversation_id=state.open or "",
                      message_id=msg.message_id, text=msg.text, channel=msg.channel)
    ]


def _reopened(state: Thread, msg: InboundMessageAccepted, conversation_id: str, queue: str) -> tuple[Thread, list[Event]]:
    """The customer answered a resolved conversation (an email reply naming it) while
    nothing else is open: it reopens, as a help desk reopens a solved ticket on reply."""
    reopened = ConversationReopened(id=derived_id("reopened", msg.id), at=msg.at, contact_id=msg.contact_id,
                                    conversation_id=conversation_id, queue=queue, by="customer")
    received = MessageReceived(id=msg.id, at=msg.at, contact_id=msg.contact_id, conversation_id=conversation_id, channel=msg.channel,
                               address=msg.address, name=msg.name, subject=msg.subject, text=msg.text, provider_id=msg.provider_id,
                               attachments=list(msg.attachments), meta=dict(msg.meta))
    return _opened(state, conversation_id), [reopened, received]


def on_conversation_event(state: Thread, event: Event) -> Thread:
    if isinstance(event, ConversationResolved) and state.open == event.conversation_id:
        return _EMPTY
    if isinstance(event, ConversationReopened):
        return _opened(state, event.conversation_id)
    return state
