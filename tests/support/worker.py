"""The worker in process: every processor of processors/pipeline.py but the projector and
the dead-letter recorder (which need a database) on dict tables, fed through the same
batch loop the Faust agents and the consumer groups run (processors/agents.process_batch),
against an in-memory log instead of a broker. What a handler publishes lands on that log and goes to
every processor that reads the topic, in order, as on a broker with one partition.

No process, no socket: the unit layer's handler tests run on it."""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable, Iterable, Sequence

from channels.base import OutboundReply
from hub import events as ev
from hub import topics
from hub.config import Settings
from hub.domain import notify
from hub.topics import TopicSpec
from processors.agents import Member, process_batch
from processors.base import Handler, Publication
from processors.pipeline import PIPELINE, Processor


@dataclass(frozen=True)
class Record:
    """What the agent loop reads of a Kafka record."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


def ok(status: str = "sent") -> dict[str, Any]:
    return {"ok": True, "status": status, "provider_id": "", "error": "", "retryable": False}


def failed(error: str, retryable: bool = False) -> dict[str, Any]:
    return {"ok": False, "status": "sent", "provider_id": "", "error": error, "retryable": retryable}


class RecordingSender:
    """Stands in for processors.sends.Sender: records each reply, sends each key once (as
    send_once does with its rows), and answers what `answer` says (sent, by default)."""

    def __init__(self, answer: Callable[[OutboundReply], dict[str, Any]] | None = None) -> None:
        self.answer = answer or (lambda reply: ok())
        self.sent: list[OutboundReply] = []
        self.results: dict[str, dict[str, Any]] = {}

    async def send_once(self, key: str, reply: OutboundReply) -> tuple[dict[str, Any], bool]:
        if key in self.results:
            return self.results[key], False
        self.sent.append(reply)
        result = {**self.answer(reply)}
        result["provider_id"] = result["provider_id"] or f"p-{len(self.sent)}"
        self.results[key] = result
        return result, False


@dataclass
class InProcessWorker:
    settings: Settings
    sender: RecordingSender = field(default_factory=RecordingSender)
    people: list[notify.Person] = field(default_factory=list)
    open_in_read_model: Callable[[str], Awaitable[str | None]] | None = None
    only: Iterable[str] | None = None  # processor names to run; all agents by default

    def __post_init__(self) -> None:
        wanted = set(self.only) if self.only is not None else None
        self.specs: list[Processor] = [p for p in PIPELINE if not p.thread and p.name != "deadletter" and (wanted is None or p.name in wanted)]
        self.handlers: dict[str, Handler] = {}
        for p in self.specs:  # in the pipeline's order: intake is given the surveys handler built before it
            self.handlers[p.name] = self._handler(p)
        # as processors/app.py groups them: one consumer per kind and group
        self.groups: dict[tuple[str, str], list[Member]] = {}
        for p in self.specs:
            self.groups.setdefault((p.kind, p.group or p.name), []).append(Member(p, self.handlers[p.name], self.handlers[p.name].table))
        self.log: dict[str, list[Record]] = defaultdict(list)
        self._offsets = itertools.count()
        self._pending: deque[Record] = deque()

    def _handler(self, spec: Processor) -> Handler:
        cls = spec.handler_class()
        kwargs: dict[str, Any] = {"table": {}}
        if spec.name == "intake":
            kwargs["open_in_read_model"] = self.open_in_read_model
            surveys = self.handlers.get("surveys")
            if surveys is not None:
                kwargs["answered_survey"] = surveys.answered  # type: ignore[attr-defined]
        if spec.name in ("dispatch", "notifier"):
            kwargs["sender"] = self.sender
        if spec.name == "notifier":
            async def people() -> list[notify.Person]:
                return list(self.people)

            kwargs["people"] = people
        handler: Handler = cls(self.settings, **kwargs)
        return handler

    def table(self, name: str) -> dict[str, Any]:
        table: dict[str, Any] = self.handlers[name].table  # type: ignore[assignment]
        return table

    async def publish(self, publications: Sequence[Publication]) -> None:
        for p in publications:
            record = Record(p.topic.name, 0, next(self._offsets), p.key.encode(), p.event.to_json())
            self.log[p.topic.name].append(record)
            self._pending.append(record)

    async def send(self, topic: TopicSpec, key: str, *events: ev.Event) -> None:
        """As an edge publishes: the events go on the log, then every reader runs until
        nothing is left to deliver."""
        await self.publish([Publication(topic, key, e) for e in events])
        await self.drain()

    async def send_raw(self, topic: TopicSpec, key: str, value: bytes) -> None:
        record = Record(topic.name, 0, next(self._offsets), key.encode(), value)
        self.log[topic.name].append(record)
        self._pending.append(record)
        await self.drain()

    async def drain(self) -> None:
        """Delivers what is pending in batches, as the worker's consumers fetch them: every
        record pending now is one batch for each group of readers, then what they published."""
        while self._pending:
            batch = list(self._pending)
            self._pending.clear()
            for members in self.groups.values():
                await process_batch(members, [r for r in batch if any(m.reads(r.topic) for m in members)], self.publish)

    async def tick(self, now: datetime) -> None:
        """Every timer fires once at `now`, then what it published is delivered."""
        for spec in self.specs:
            if spec.timers:
                await self.publish(self.handlers[spec.name].tick(now).publish)
        await self.drain()

    def events(self, topic: TopicSpec = topics.CONVERSATIONS, *types: str) -> list[ev.Event]:
        out = [ev.from_json(r.value) for r in self.log[topic.name]]
        return [e for e in out if not types or e.type in types]

    def types(self, topic: TopicSpec = topics.CONVERSATIONS) -> list[str]:
        return [e.type for e in self.events(topic)]

    def recorded(self) -> list[Record]:
        """Every record of every topic in the order it was written (offsets are global)."""
        return sorted((r for records in self.log.values() for r in records), key=lambda r: r.offset)
