"""What every processor shares: the Outcome a handler returns, the handler base with its
rebuild mode, and the dead letter for what could not be handled.

A handler never sends. `await handler.handle(events)` returns an Outcome: what to publish
(topic, key, event) and how its table changes. The agent loop (processors/agents.py)
applies the changes and publishes, so a test can run a handler on a dict and look at what
it would have done, and a rebuild can fold recorded events into state and publish nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Iterable, MutableMapping, Sequence

from hub import events as ev
from hub import topics
from hub.config import Settings
from hub.topics import TopicSpec

log = logging.getLogger("hub.processors")
stats: Counter[str] = Counter()


class _Deleted:
    def __repr__(self) -> str:
        return "DELETED"


#: A table change that removes the key.
DELETED: Any = _Deleted()


@dataclass(frozen=True, slots=True)
class Publication:
    topic: TopicSpec
    key: str
    event: ev.Event


@dataclass(slots=True)
class Outcome:
    """What one call of a handler decided: events to publish, in order, and table changes."""

    publish: list[Publication] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)  # key -> new value, or DELETED

    def emit(self, topic: TopicSpec, key: str, event: ev.Event) -> None:
        self.publish.append(Publication(topic, key, event))

    def events(self) -> list[ev.Event]:
        return [p.event for p in self.publish]

    def apply_to(self, table: MutableMapping[str, Any]) -> None:
        for key, value in self.changes.items():
            if value is DELETED:
                table.pop(key, None)
            else:
                table[key] = value


class Staged:
    """A table as one handle() call sees it: its own changes over the stored values, so the
    second event of a batch sees what the first decided, and nothing is written yet."""

    __slots__ = ("table", "changes")

    def __init__(self, table: MutableMapping[str, Any], changes: dict[str, Any]) -> None:
        self.table = table
        self.changes = changes

    def get(self, key: str) -> Any:
        if key in self.changes:
            value = self.changes[key]
            return None if value is DELETED else value
        return self.table.get(key)

    def __contains__(self, key: str) -> bool:
        if key in self.changes:
            return self.changes[key] is not DELETED
        return key in self.table

    def set(self, key: str, value: Any) -> None:
        self.changes[key] = value

    def delete(self, key: str) -> None:
        if key in self:
            self.changes[key] = DELETED

    def set_within(self, key: str, stored: dict[str, Any], inner: str, value: Any) -> None:
        """For tables of {conversation id: state} per contact: `inner` set to `value` (or
        dropped, for None) in `stored`, the value at `key`; written only if it changed, and
        the key dropped once nothing is left under it."""
        changed = dict(stored)
        if value is None:
            changed.pop(inner, None)
        else:
            changed[inner] = value
        if changed == stored:
            return
        if changed:
            self.set(key, changed)
        else:
            self.delete(key)


class Handler:
    """A processor's logic as a plain object: built with its settings, fed decoded events.

    `rebuilding` is set while `rebuild()` folds recorded events: handlers then change
    their state exactly as live, but call no provider and read no database, and timers are
    held, so a rebuild sends nothing to anybody."""

    name: ClassVar[str] = ""

    def __init__(self, settings: Settings, *, table: MutableMapping[str, Any] | None = None) -> None:
        self.table: MutableMapping[str, Any] = {} if table is None else table
        self.rebuilding = False
        self.held = False
        self.configure(settings)

    def configure(self, settings: Settings) -> None:
        """Take new settings; the state stays (the next event or tick uses them)."""
        self.settings = settings

    async def handle(self, events: Sequence[ev.Event]) -> Outcome:
        outcome = Outcome()
        staged = Staged(self.table, outcome.changes)
        for event in events:
            await self.on_event(event, staged, outcome)
        return outcome

    async def on_event(self, event: ev.Event, table: Staged, out: Outcome) -> None:
        raise NotImplementedError

    async def load(self) -> None:
        """Read the state back from where `persist` keeps it (handlers off faust tables)."""

    async def persist(self, changes: dict[str, Any]) -> None:
        """Keep the table's changes before the offsets move on (handlers off faust tables)."""

    def apply(self, outcome: Outcome) -> None:
        """`outcome`'s changes into the table, as the record loop applies them."""
        outcome.apply_to(self.table)
        self.applied(outcome.changes)

    def applied(self, changes: dict[str, Any]) -> None:
        """The table took `changes` (an index over it follows them; processors/due.py)."""

    def table_moved(self) -> None:
        """The table may have changed without this handler seeing it (faust rebalanced or
        recovered it): whatever is derived from it must be derived again."""

    def tick(self, now: datetime) -> Outcome:
        """What a timer tick publishes at `now` (nothing for handlers without timers)."""
        return Outcome()

    @property
    def timers_held(self) -> bool:
        return self.held or self.rebuilding

    async def rebuild(self, events: Iterable[ev.Event]) -> None:
        """Fold recorded events into the table as live processing would; publish nothing."""
        self.rebuilding = True
        try:
            for event in events:
                self.apply(await self.handle([event]))
        finally:
            self.rebuilding = False


def dead_letter(processor: str, topic: str, partition: int, offset: int, value: Any, reason: str) -> Publication:
    """The record that made `processor` fail, with the reason, for `deadletter`."""
    payload = value if isinstance(value, bytes) else str(value).encode()
    letter = ev.DeadLettered(
        id=ev.derived_id("deadletter", processor, topic, str(partition), str(offset)),
        source_topic=topic,
        partition=partition,
        offset=offset,
        processor=processor,
        reason=reason[:2000],
        payload=payload.decode("utf-8", "replace")[:10000],
    )
    stats[f"deadletter.{processor}"] += 1
    log.error("event dead-lettered", extra={"processor": processor, "topic": topic, "offset": offset, "reason": reason[:300]})
    return Publication(topics.DEADLETTER, topic, letter)
