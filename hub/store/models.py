"""The read model. A projection of the event log; rebuildable by replay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Index, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Identity(Base):
    __tablename__ = "identities"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(64), index=True)


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(500), default="")
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_message_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # What the customer's channel told us about this conversation (a Telegram deep-link
    # payload such as an order number, an email thread's reply token), by key.
    context: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # The SLA clocks as the SLA processor last reported them: {"policy", clock: {...}}.
    sla: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # When the conversation became a complaint (the first ComplaintDetected): a complaint's age.
    complaint_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The surveys asked of this conversation, as the conversation's JSON shows them
    # (views.survey_json); the `surveys` table holds the same rows for the reports.
    surveys: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    __table_args__ = (
        Index("ix_conversations_activity", "last_message_at", "id"),
        # The pages' filters, counts and reports (migration 0007)
        Index("ix_conversations_created_at", "created_at"),
        Index("ix_conversations_status_queue_channel", "status", "queue", "channel"),
        Index("ix_conversations_assignee_status", "assignee", "status"),
    )


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))  # in | out | note
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivery: Mapped[str | None] = mapped_column(String(16), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    provider_id: Mapped[str] = mapped_column(String(200), default="")
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    # covering for the response-time report, in its order (migration 0008)
    __table_args__ = (Index("ix_messages_conversation_at_id", "conversation_id", "at", "id", "direction", "author", "channel"),)


class Original(Base):
    """The bytes a message arrived as (an email's whole MIME), kept beside the read model
    because they are too big for an event; the message's id is the key."""

    __tablename__ = "originals"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SendRecord(Base):
    """One provider call (a reply, a notification): its intent is committed before the call
    and its result after, so a worker that restarts knows what it already sent. Not part of
    the projection: it is the senders' own memory, and a replay leaves it alone."""

    __tablename__ = "sends"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # started | done
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OptOut(Base):
    """An address that asked for no more messages (STOP, «لغو»), until START: dispatch's own
    memory, read at start and on every rebalance, written before its offsets are committed."""

    __tablename__ = "opt_outs"
    address_key: Mapped[str] = mapped_column(String(320), primary_key=True)  # "channel:address"
    since: Mapped[str] = mapped_column(String(40))
    keyword: Mapped[str] = mapped_column(String(80))


class Escalation(Base):
    """One fired level of an escalation ladder, who was told, and who acknowledged it."""

    __tablename__ = "escalations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    contact_id: Mapped[str] = mapped_column(String(64))
    ladder: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    notify: Mapped[list] = mapped_column(JSON, default=list)
    notified: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Survey(Base):
    """A survey asked of a resolved conversation, and its answer (or its expiry)."""

    __tablename__ = "surveys"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    contact_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # csat | nps
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="")
    question: Mapped[str] = mapped_column(Text, default="")
    queue: Mapped[str] = mapped_column(String(64), default="")
    agent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sla: Mapped[str] = mapped_column(String(16), default="none")  # the first response: met | breached | none
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    low: Mapped[bool] = mapped_column(Boolean, default=False)
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    delivery: Mapped[str | None] = mapped_column(String(16), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class User(Base):
    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    telegram: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    queues: Mapped[list] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Chosen "away": routing gives her nothing new even while her live socket is open.
    away: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Every token names the generation it was signed in; a password or role change, a
    # disable or a sign-out everywhere moves it on, and the older tokens stop working.
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class CannedResponse(Base):
    """A saved reply; its {{placeholders}} are filled in the agent's browser, not here."""

    __tablename__ = "canned_responses"
    shortcut: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AgentPresence(Base):
    """An agent's live socket on one web process, renewed while it stays open."""

    __tablename__ = "agent_presence"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    process: Mapped[str] = mapped_column(String(32), primary_key=True)
    seen_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SignedOutSession(Base):
    """A session its user signed out of, kept until its token would have expired anyway."""

    __tablename__ = "signed_out_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class LoginSlot(Base):
    """A sign-in attempt's place in its username's or address's minute, taken before the
    password is checked and given back when it was right (hub/web/logins.py)."""

    __tablename__ = "login_slots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(8))  # user | addr
    key: Mapped[str] = mapped_column(String(200))
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    __table_args__ = (Index("ix_login_slots_scope_key_taken_at", "scope", "key", "taken_at"),)


class ApiKey(Base):
    __tablename__ = "api_keys"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeadLetter(Base):
    __tablename__ = "deadletters"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_topic: Mapped[str] = mapped_column(String(100))
    partition: Mapped[int] = mapped_column(Integer, default=-1)
    offset: Mapped[int] = mapped_column(Integer, default=-1)
    processor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WorkerHeartbeat(Base):
    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    ready: Mapped[bool] = mapped_column(Boolean, default=False)
    partitions: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    log_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    caught_up: Mapped[bool] = mapped_column(Boolean, default=False)


class StreamOffset(Base):
    """Where a consumer of our own is in each partition, and of which log: written in the
    transaction that keeps what those records changed, so state and position never
    disagree. `log_id` None: kept before the log had an identity; never trusted."""

    __tablename__ = "stream_offsets"
    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)
    log_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ArchivedRecord(Base):
    """A record of the log, verbatim, where it was: what a refill writes back."""

    __tablename__ = "log_archive"
    topic: Mapped[str] = mapped_column(String(100), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    value: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class WrittenAhead(Base):
    """An input an edge accepted, kept before it answered; gone once the archive has it."""

    __tablename__ = "written_ahead"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LogIncarnation(Base):
    """One life of the log: its id (the first record of `hub.log`), and what was refilled."""

    __tablename__ = "log_incarnations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    refilled_from: Mapped[str | None] = mapped_column(String(64), nullable=True)
    refill_ends: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # "topic:partition" -> end offset
    refilled_records: Mapped[int] = mapped_column(Integer, default=0)
