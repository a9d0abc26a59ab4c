"""The event catalogue: immutable, versioned, JSON round-trip.

Every event has an `id` that is derived from the provider's id where one exists, so a
redelivered webhook or a replayed partition produces the same id and consumers can dedupe.
Names are past tense: an event says what happened, never what should happen, except the
two *Requested events, which record that a person asked for something.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

SCHEMA_VERSION = 1
_NAMESPACE = uuid.UUID("6f1d3a52-9b8e-4c1e-9d55-2a7c1e0b4f11")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def derived_id(*parts: str) -> str:
    """A stable id from provider ids: the same input always gives the same event id."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def new_id() -> str:
    return str(uuid.uuid4())


_CATALOGUE: dict[str, type["Event"]] = {}


class UnknownEvent(ValueError):
    """Raised when bytes on a topic do not decode to a known event."""


@dataclass(frozen=True, kw_only=True)
class Event:
    type: ClassVar[str] = "Event"
    id: str = field(default_factory=new_id)
    at: datetime = field(default_factory=utcnow)
    version: int = SCHEMA_VERSION

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type = cls.__name__
        _CATALOGUE[cls.__name__] = cls

    def __post_init__(self) -> None:
        # Time is UTC in events: an offset from outside is converted, a naive time is UTC.
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                utc = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
                object.__setattr__(self, f.name, utc)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()

    def replace(self, **changes: Any) -> "Event":
        return dataclasses.replace(self, **changes)


def catalogue() -> dict[str, type[Event]]:
    """Every event type by name (for checking the pipeline table)."""
    return dict(_CATALOGUE)


def from_dict(data: dict[str, Any]) -> Event:
    kind = data.get("type")
    cls = _CATALOGUE.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise UnknownEvent(f"unknown event type {kind!r}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if value is not None and f.type in ("datetime", "datetime | None"):
            try:
                value = datetime.fromisoformat(value)
            except (TypeError, ValueError) as exc:
                raise UnknownEvent(f"{kind}: `{f.name}` is not an ISO 8601 time: {value!r}") from exc
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise UnknownEvent(f"{kind}: {exc}") from exc


_TYPE_PREFIX = b'{"type":"'


def peek_type(raw: bytes) -> str | None:
    """The event type without decoding the whole event (to_json writes `type` first)."""
    if not raw.startswith(_TYPE_PREFIX):
        return None
    end = raw.find(b'"', len(_TYPE_PREFIX), 80)
    return raw[len(_TYPE_PREFIX) : end].decode("ascii", "replace") if end > 0 else None


_ID_FIELD = b'","id":"'


def peek_id(raw: bytes) -> str | None:
    """The event's id without decoding the whole event (to_json writes `type`, then `id`);
    None where the bytes are not laid out so (the caller decodes them then)."""
    if not raw.startswith(_TYPE_PREFIX):
        return None
    at = raw.find(b'"', len(_TYPE_PREFIX), 80)  # the end of the type
    if at < 0 or not raw.startswith(_ID_FIELD, at):
        return None
    start = at + len(_ID_FIELD)
    end = raw.find(b'"', start, start + 65)
    found = raw[start:end] if end > start else b""
    if not found or b"\\" in found or not found.isascii():
        return None
    return found.decode("ascii")


def from_json(raw: bytes | str) -> Event:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnknownEvent(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UnknownEvent("event is not a JSON object")
    return from_dict(data)


# --- inbound.messages -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InboundMessageAccepted(Event):
    """A channel adapter accepted a customer's message; intake has not threaded it yet."""

    contact_id: str
    channel: str
    address: str
    name: str = ""
    text: str = ""
    subject: str = ""
    provider_id: str = ""
    language: str = ""
    attachments: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class InboundMessageEdited(Event):
    """The customer edited a message they sent (Telegram's edited_message); `message_id` is
    the id of the event that recorded the original. Intake gives it the conversation."""

    contact_id: str
    channel: str
    address: str
    message_id: str
    text: str
    provider_id: str = ""


# --- conversation.events ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ContactsMerged(Event):
    """A channel identity turned out to be a known customer (a Telegram user shared the phone
    number an SMS customer writes from): `merged_contact_id`'s identities and conversations
    now belong to `contact_id`, and the edge resolves that identity to `contact_id` from now on.
    Keyed by the surviving contact."""

    contact_id: str
    merged_contact_id: str
    channel: str
    address: str
    phone: str = ""


@dataclass(frozen=True, kw_only=True)
class ConversationEvent(Event):
    contact_id: str
    conversation_id: str


@dataclass(frozen=True, kw_only=True)
class ConversationOpened(ConversationEvent):
    channel: str
    address: str
    name: str = ""
    subject: str = ""
    language: str = ""


@dataclass(frozen=True, kw_only=True)
class MessageReceived(ConversationEvent):
    channel: str
    address: str
    name: str = ""
    text: str = ""
    subject: str = ""
    provider_id: str = ""
    attachments: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class MessageEdited(ConversationEvent):
    """A customer's message now reads `text`; the projector keeps the earlier versions.
    `conversation_id` is the contact's open one when intake saw it (empty if none was open);
    the message itself is found by `message_id`."""

    message_id: str
    text: str
    channel: str = ""


@dataclass(frozen=True, kw_only=True)
class ContactOptedOut(ConversationEvent):
    """The customer texted STOP (or a Persian equivalent) on this channel address."""

    channel: str
    address: str
    keyword: str


@dataclass(frozen=True, kw_only=True)
class ContactOptedIn(ConversationEvent):
    channel: str
    address: str
    keyword: str


@dataclass(frozen=True, kw_only=True)
class ConversationAssigned(ConversationEvent):
    queue: str
    agent: str | None = None
    by: str = "routing"


@dataclass(frozen=True, kw_only=True)
class ReplyRequested(ConversationEvent):
    """An agent asked for a reply to go out; `id` is the outbound message's id."""

    channel: str
    address: str
    text: str
    author: str
    #: sent as a provider-approved template: {"name", "provider_id", "variables": {"1": ..}}
    #: (empty: free text); `text` is then the template's text as the customer reads it
    template: dict = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class MessageDelivered(ConversationEvent):
    message_id: str
    status: str = "sent"  # sent | delivered | read (the channel's delivery_states)
    provider_id: str = ""
    repeated: bool = False


@dataclass(frozen=True, kw_only=True)
class DeliveryFailed(ConversationEvent):
    message_id: str
    error: str
    retryable: bool = False


@dataclass(frozen=True, kw_only=True)
class NoteAdded(ConversationEvent):
    text: str
    author: str


@dataclass(frozen=True, kw_only=True)
class ConversationTransferred(ConversationEvent):
    from_queue: str
    queue: str
    by: str


@dataclass(frozen=True, kw_only=True)
class ConversationResolved(ConversationEvent):
    queue: str = ""
    agent: str | None = None
    by: str = ""
    #: resolved by an integration or a bot (an API key, or `"automatic": true`), not by a
    #: person who answered: no survey is asked
    automatic: bool = False


@dataclass(frozen=True, kw_only=True)
class ConversationReopened(ConversationEvent):
    queue: str = ""
    by: str = ""


@dataclass(frozen=True, kw_only=True)
class ConversationMarkedPending(ConversationEvent):
    by: str = ""


# --- surveys (conversation.events; the answers from the edges on inbound.messages) -------


@dataclass(frozen=True, kw_only=True)
class SurveyAsked(ConversationEvent):
    """A resolution is asked how it went (`kind` csat 1-5 or nps 0-10), on the channel and
    address the customer last wrote from, in her language; answerable until `expires_at`.
    `id` is the survey's id. `agent`, `queue` and `sla` (the first response: met, breached
    or none) are the resolution's, carried to the answer and the report."""

    kind: str
    channel: str
    address: str
    language: str
    question: str
    scale: list = field(default_factory=list)  # [lowest, highest]
    expires_at: datetime
    agent: str | None = None
    queue: str = ""
    sla: str = "none"


@dataclass(frozen=True, kw_only=True)
class SurveyAnswered(ConversationEvent):
    """The customer answered survey `survey_id` (one answer per survey: the id is derived
    from it). `low`: a CSAT at or under the `low` threshold of `[surveys]`."""

    survey_id: str
    kind: str
    score: int
    comment: str = ""
    channel: str
    agent: str | None = None
    queue: str = ""
    sla: str = "none"
    low: bool = False
    message_id: str = ""  # the inbound message that said the score, when a message did


@dataclass(frozen=True, kw_only=True)
class SurveyExpired(ConversationEvent):
    """Survey `survey_id`'s window closed unanswered."""

    survey_id: str
    kind: str


@dataclass(frozen=True, kw_only=True)
class SurveyAnswerSubmitted(Event):
    """An edge took an answer to a survey (the chat widget's buttons, a Telegram button, the
    email page's form), on inbound.messages keyed by contact; the surveys processor checks
    it against the open survey and publishes SurveyAnswered, or logs why not."""

    contact_id: str
    survey_id: str
    score: int
    comment: str = ""
    channel: str


# --- SLA clocks and complaints (conversation.events) -----------------------------------


@dataclass(frozen=True, kw_only=True)
class ComplaintDetected(ConversationEvent):
    """The conversation is a complaint: from its text, the customer's explicit choice
    (e.g. /complaint) or an agent marking it. `source`: text | explicit | agent."""

    reason: str
    source: str = "text"


@dataclass(frozen=True, kw_only=True)
class SlaWarning(ConversationEvent):
    clock: str  # first_response | next_response | resolution
    policy: str
    due_at: datetime


@dataclass(frozen=True, kw_only=True)
class SlaBreached(ConversationEvent):
    clock: str
    policy: str
    due_at: datetime
    overdue: float = 0.0  # seconds past due_at when it was noticed


@dataclass(frozen=True, kw_only=True)
class SlaClocksChanged(ConversationEvent):
    """The SLA processor's view of the conversation's clocks changed (a clock started, was
    met, paused or resumed, warned, breached, or the policy changed). `clocks` is shown as is:
    {policy, first_response, next_response, resolution}, each null or {started_at, due_at,
    warned_at, breached_at, met_at, stopped_at, paused}. The id is derived from the event
    that changed them, so a replayed partition changes nothing twice."""

    clocks: dict = field(default_factory=dict)


# --- escalations (conversation.events) ------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Escalated(ConversationEvent):
    """A level of an escalation ladder fired; `notify` names who must hear of it
    ("role:lead", "user:NAME"). The id is derived from conversation, ladder and level."""

    ladder: str
    level: int
    reason: str
    notify: list = field(default_factory=list)
    due_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class EscalationNotified(ConversationEvent):
    """One person was told (or could not be told) of an escalation on one of their contacts."""

    escalation_id: str
    user: str
    channel: str
    ok: bool
    error: str = ""
    repeated: bool = False


@dataclass(frozen=True, kw_only=True)
class EscalationAcknowledged(ConversationEvent):
    """A lead or manager took note; the ladder stops climbing. Empty `ladder`: all of them."""

    escalation_id: str
    ladder: str = ""
    by: str


# --- routing (keyed by queue: one writer per queue) -------------------------------------


@dataclass(frozen=True, kw_only=True)
class ConversationQueued(Event):
    contact_id: str
    conversation_id: str
    queue: str


@dataclass(frozen=True, kw_only=True)
class ConversationReleased(Event):
    """The conversation no longer counts against its agent's capacity in this queue."""

    contact_id: str
    conversation_id: str
    queue: str


@dataclass(frozen=True, kw_only=True)
class AssignmentRequested(Event):
    contact_id: str
    conversation_id: str
    queue: str
    agent: str
    by: str


@dataclass(frozen=True, kw_only=True)
class AgentAvailabilityChanged(Event):
    agent: str
    queue: str
    online: bool
    capacity: int = 5


# --- outbound.web, live, deadletter -----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class WebChatMessageSent(Event):
    """A message for a chat session's socket, whichever web process holds it."""

    session: str
    message_id: str
    contact_id: str = ""
    conversation_id: str = ""
    sender: str  # agent | customer
    name: str
    text: str
    sent_at: str
    #: a survey's question rather than a message (`text` is the question): its `id`, `kind`
    #: and `scale` [lowest, highest]; the socket gets a survey frame with buttons. Empty for
    #: a message, as in the records written before surveys.
    survey: dict = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CustomerTyped(Event):
    """A chat customer is typing in `conversation_id`. Ephemeral: published to `live` only,
    keyed by conversation, for the agents' sockets of every web process; never projected,
    never stored, and a lost one costs nothing (the next comes within seconds)."""

    conversation_id: str
    contact_id: str = ""


@dataclass(frozen=True, kw_only=True)
class AgentTyped(Event):
    """An agent is typing a reply in a web conversation; `sessions` are the customer's chat
    sessions (unsigned ids) whose sockets show it. Ephemeral like CustomerTyped."""

    conversation_id: str
    sessions: list = field(default_factory=list)
    agent: str


@dataclass(frozen=True, kw_only=True)
class ReadModelUpdated(Event):
    """The projector wrote the read model; web processes push `frame` to agent sockets."""

    conversation_id: str
    frame: dict


@dataclass(frozen=True, kw_only=True)
class UserSessionsEnded(Event):
    """A user's password, role or standing changed: every token she holds stops working and
    her live sockets close (hub/web/sessions.py); on `live`, for every web process."""

    username: str
    reason: str
    generation: int


@dataclass(frozen=True, kw_only=True)
class SessionSignedOut(Event):
    """A user signed out of one session: its token stops working and its sockets close."""

    username: str
    session: str


@dataclass(frozen=True, kw_only=True)
class ApiKeyRevoked(Event):
    """An integrator's key was revoked: every web process forgets it at once."""

    name: str


@dataclass(frozen=True, kw_only=True)
class DeadLettered(Event):
    source_topic: str
    partition: int = -1
    offset: int = -1
    processor: str
    reason: str
    payload: str
