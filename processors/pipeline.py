"""The worker's pipeline as data: every processor, what it reads and handles, what it may
publish, its table and its timers. `processors.app.build_app` registers the Faust agents
from this table and nothing else; docs/design.md's data-flow picture is checked against it
(tests/processors/test_pipeline.py), so the two cannot drift apart.

Kinds:
- `agent`: run by a Faust agent (concurrency 1, see docs/design.md on faust #606), its
  state in a Faust table. Agents of one `group` share one Faust agent over the union of
  their `reads` (all keyed by contact): each record is fetched and decoded once and handed
  to every member that handles its type (processors/agents.py).
- `consumer`: an aiokafka consumer group of its own, beside faust, its state in the
  database. The projector (on its own thread) writes its offsets in the same transaction as
  its rows (exactly once into the read model); dispatch and the notifier share the
  `senders` group (processors/consumer.py): they wait on providers without holding up any
  agent, and commit their offsets after the records were handled (at least once; sends are
  deduplicated).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from hub import topics
from hub.events import catalogue
from hub.topics import TopicSpec


@dataclass(frozen=True)
class Timer:
    name: str
    every: float  # seconds between ticks
    does: str  # what a tick does, for readers


@dataclass(frozen=True)
class Processor:
    name: str
    reads: tuple[TopicSpec, ...]
    handles: frozenset[str]  # event types handed to the handler; the rest are skipped undecoded
    publishes: tuple[TopicSpec, ...]
    handler: str  # "module:Class" of the plain handler object
    table: str | None = None  # the table it is the only writer of: a Faust table for an agent, a database table for a consumer
    timers: tuple[Timer, ...] = ()
    kind: str = "agent"  # agent | consumer
    group: str = ""  # processors of one kind and group share one consumer: one fetch and one decoding of each record
    writes_database: bool = False
    thread: str = ""  # a consumer on a thread and loop of its own, beside faust's (processors/projector.py)
    calls_providers: bool = False  # may wait on Twilio/Telegram/SMTP: never shares an agent with others
    why: str = ""

    def handler_class(self) -> type[Any]:
        module, _, name = self.handler.partition(":")
        cls: type[Any] = getattr(import_module(module), name)
        return cls


@dataclass(frozen=True)
class Edge:
    """A role outside the worker that writes or reads topics (for the picture)."""

    name: str
    reads: tuple[TopicSpec, ...]
    publishes: tuple[TopicSpec, ...]
    why: str = ""


CONVERSATION_TYPES = frozenset({"ConversationOpened", "ConversationTransferred", "ConversationResolved", "ConversationReopened"})

PIPELINE: tuple[Processor, ...] = (
    Processor(
        name="surveys",
        group="contacts",  # before intake: a message that answers a survey is threaded by nobody
        reads=(topics.INBOUND, topics.CONVERSATIONS),
        handles=frozenset({
            "InboundMessageAccepted", "SurveyAnswerSubmitted", "ContactOptedOut", "ContactOptedIn", "ConversationOpened", "MessageReceived",
            "ConversationAssigned", "ConversationTransferred", "SlaClocksChanged", "SlaBreached", "ComplaintDetected",
            "EscalationAcknowledged", "ConversationResolved", "ConversationReopened", "SurveyAsked", "SurveyAnswered", "SurveyExpired",
        }),
        publishes=(topics.CONVERSATIONS,),
        handler="processors.surveys:SurveysHandler",
        table="surveys",
        timers=(Timer("fire_due_surveys", 0.25, "asks surveys whose delay is over, expires unanswered ones"),),
        why="asks a resolved conversation how it went, on the customer's channel; reads her answer",
    ),
    Processor(
        name="intake",
        group="contacts",
        reads=(topics.INBOUND, topics.CONVERSATIONS),
        handles=frozenset({"InboundMessageAccepted", "InboundMessageEdited", "ConversationResolved", "ConversationReopened"}),
        publishes=(topics.CONVERSATIONS,),
        handler="processors.intake:IntakeHandler",
        table="intake-threads",
        why="threads a customer's message into her open conversation, or opens one",
    ),
    Processor(
        name="routing",
        group="contacts",
        reads=(topics.CONVERSATIONS,),
        handles=CONVERSATION_TYPES,
        publishes=(topics.ROUTING,),
        handler="processors.routing:RoutingHandler",
        why="turns conversation events into queue membership requests, keyed by queue",
    ),
    Processor(
        name="assignment",
        reads=(topics.ROUTING,),
        handles=frozenset({"ConversationQueued", "ConversationReleased", "AssignmentRequested", "AgentAvailabilityChanged"}),
        publishes=(topics.CONVERSATIONS,),
        handler="processors.routing:AssignmentHandler",
        table="routing-queues",
        why="one writer per queue picks the agent (state on the queue's partition)",
    ),
    Processor(
        name="sla",
        group="contacts",
        reads=(topics.CONVERSATIONS,),
        handles=frozenset({
            "ConversationOpened", "MessageReceived", "ReplyRequested", "ConversationMarkedPending", "ConversationResolved",
            "ConversationReopened", "ComplaintDetected", "ConversationTransferred", "ConversationAssigned", "SlaWarning", "SlaBreached",
        }),
        publishes=(topics.CONVERSATIONS,),
        handler="processors.sla:SlaHandler",
        table="sla-clocks",
        timers=(Timer("fire_due_clocks", 0.25, "publishes due SLA warnings and breaches"),),
        why="the response-time clocks, and complaints detected in the customer's words",
    ),
    Processor(
        name="escalation",
        group="contacts",
        reads=(topics.CONVERSATIONS,),
        handles=frozenset({"ComplaintDetected", "SlaBreached", "Escalated", "EscalationAcknowledged", "ConversationResolved", "SurveyAnswered"}),
        publishes=(topics.CONVERSATIONS,),
        handler="processors.escalation:EscalationHandler",
        table="escalation-ladders",
        timers=(Timer("fire_due_levels", 0.25, "publishes due escalation levels"),),
        why="complaints, breaches and low CSAT scores climb their ladder until acknowledged or resolved",
    ),
    Processor(
        name="dispatch",
        reads=(topics.CONVERSATIONS,),
        handles=frozenset({"ReplyRequested", "SurveyAsked", "ContactOptedOut", "ContactOptedIn"}),
        publishes=(topics.CONVERSATIONS, topics.OUTBOUND_WEB),
        handler="processors.dispatch:DispatchHandler",
        table="opt_outs",
        kind="consumer",
        group="senders",
        writes_database=True,
        calls_providers=True,
        why="sends an agent's reply (and a survey's question) on the customer's channel, once",
    ),
    Processor(
        name="notifier",
        reads=(topics.CONVERSATIONS,),
        handles=frozenset({"Escalated"}),
        publishes=(topics.CONVERSATIONS,),
        handler="processors.notifier:NotifierHandler",
        kind="consumer",
        group="senders",
        writes_database=True,
        calls_providers=True,
        why="tells each person of an escalation level, on each of their channels, once",
    ),
    Processor(
        name="projector",
        reads=(topics.CONVERSATIONS,),
        handles=frozenset(),  # every event: the read model shows them all
        publishes=(topics.LIVE, topics.DEADLETTER),
        handler="processors.projector:ProjectorHandler",
        kind="consumer",
        writes_database=True,
        thread="projector",
        why="the read model, with its offsets in the same transaction; live frames for agents",
    ),
    Processor(
        name="archiver",
        reads=topics.ARCHIVED,
        handles=frozenset(),  # every record, verbatim
        publishes=(),
        handler="processors.archiver:ArchiverHandler",
        table="log_archive",
        kind="consumer",
        writes_database=True,
        thread="projector",
        why="keeps every record state is folded from, with its offsets, for a refill after a restart (HUB_ARCHIVE)",
    ),
    Processor(
        name="deadletter",
        reads=(topics.DEADLETTER,),
        handles=frozenset({"DeadLettered"}),
        publishes=(),
        handler="processors.deadletter:DeadletterHandler",
        writes_database=True,
        why="keeps what could not be processed, for `contacthub deadletter`",
    ),
)

#: What the worker does besides its processors.
WORKER_TIMERS: tuple[Timer, ...] = (
    Timer("heartbeat", 0.5, "a row per worker: /readyz knows it holds its partitions"),
    Timer("stall_watch", 5.0, "records waiting that faust stopped reading: resumed, else the worker ends (processors/stall.py)"),
)

EDGES: tuple[Edge, ...] = (
    Edge("channels", reads=(), publishes=(topics.INBOUND, topics.CONVERSATIONS),
         why="webhooks, pollers, sockets and SMTP accept customer messages (and delivery states)"),
    Edge("web", reads=(topics.LIVE, topics.OUTBOUND_WEB), publishes=(topics.CONVERSATIONS, topics.ROUTING, topics.LIVE),
         why="agent and manager actions; live sockets; web chat replies to the socket's process"),
)

#: Every processor writes what it could not handle here (faust would ack and drop it).
FAILURES = topics.DEADLETTER


def by_name(name: str) -> Processor:
    for p in PIPELINE:
        if p.name == name:
            return p
    raise KeyError(name)


def problems() -> list[str]:
    """What is wrong with the table itself; empty when it is whole."""
    out: list[str] = []
    known_types = set(catalogue())
    known_topics = {t.name for t in topics.ALL}
    names = [p.name for p in PIPELINE]
    if len(names) != len(set(names)):
        out.append("two processors share a name")
    tables = [p.table for p in PIPELINE if p.table]
    if len(tables) != len(set(tables)):
        out.append("two processors write one table")
    for p in PIPELINE:
        for t in (*p.reads, *p.publishes):
            if t.name not in known_topics:
                out.append(f"{p.name}: topic {t.name} is not in hub.topics")
        for kind in p.handles:
            if kind not in known_types:
                out.append(f"{p.name}: handles unknown event type {kind}")
        if p.kind not in ("agent", "consumer"):
            out.append(f"{p.name}: unknown kind {p.kind}")
        if p.timers and not p.table:
            out.append(f"{p.name}: a timer without a table has nothing to read")
    return out


def picture() -> str:
    """The data-flow picture of docs/design.md, one line per processor and edge: what it
    reads --> its name --> what it writes. `python -m processors.pipeline` prints it."""

    def names(specs: tuple[TopicSpec, ...]) -> str:
        return ", ".join(t.name for t in specs) or "-"

    rows: list[tuple[str, str, str, str]] = []
    for e in EDGES:
        rows.append((names(e.reads) if e.reads else "(outside)", f"[{e.name}]", names(e.publishes), "edge"))
    for p in PIPELINE:
        writes = names(p.publishes) if p.publishes else ""
        if p.writes_database:
            writes = f"{writes} + database" if writes else "database"
        notes = [f"{p.kind} {p.group}" if p.group else p.kind]
        if p.thread:
            notes.append(f"thread {p.thread}")
        if p.table:
            notes.append(f"table {p.table}")
        notes += [f"timer {t.name} every {t.every:g}s" for t in p.timers]
        if p.calls_providers:
            notes.append("calls providers")
        rows.append((names(p.reads), p.name, writes, ", ".join(notes)))
    width_in = max(len(r[0]) for r in rows)
    width_name = max(len(r[1]) for r in rows)
    width_out = max(len(r[2]) for r in rows)
    lines = [f"{a:>{width_in}} --> {b:<{width_name}} --> {c:<{width_out}}   {d}".rstrip() for a, b, c, d in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(picture(), end="")
