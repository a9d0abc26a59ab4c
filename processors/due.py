"""Timers ordered by due time: a tick costs what is due, not what is open.

The SLA clocks and escalation ladders live in tables of {contact id: {conversation id:
state}}. A `DueIndex` beside such a table keeps a heap of (due time, contact, conversation):
a handler tells it each key its batch changed (`Handler.applied`), and a tick pops only
what is due. The table is the truth and the index a view of it, rebuilt whole from the
table whenever the table may have changed under it without the handler seeing it: at
start, and after faust rebalanced or recovered the table (`invalidate`)."""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from typing import Any, Callable, ClassVar, Iterator, Mapping

from processors.base import DELETED

#: state -> when it is next due (None: nothing to fire)
NextDue = Callable[[Any], "datetime | None"]


class DueIndex:
    """The open entries of a per-conversation table by when they are next due."""

    def __init__(self, next_due: NextDue) -> None:
        self.next_due = next_due
        self.heap: list[tuple[float, str, str]] = []
        self.current: dict[tuple[str, str], float] = {}  # (contact, conversation) -> due; older heap entries are stale
        self.by_contact: dict[str, tuple[str, ...]] = {}  # the conversations each contact has in the index
        self.whole = False  # built from the table since it last changed under us

    def __len__(self) -> int:
        return len(self.current)

    def invalidate(self) -> None:
        """The table may hold what the index does not know (a rebalance, a recovery)."""
        self.whole = False

    def rebuild(self, table: Mapping[str, Any]) -> None:
        self.current, self.by_contact = {}, {}
        for contact_id, convs in list(table.items()):
            kept: list[str] = []
            for conversation_id, state in (convs or {}).items():
                due = self.next_due(state)
                if due is not None:
                    self.current[(contact_id, conversation_id)] = due.timestamp()
                    kept.append(conversation_id)
            if kept:
                self.by_contact[contact_id] = tuple(kept)
        self.heap = [(due, contact, conv) for (contact, conv), due in self.current.items()]
        heapq.heapify(self.heap)
        self.whole = True

    def changed(self, contact_id: str, convs: Mapping[str, Any] | None) -> None:
        """The contact's entry in the table is now `convs` (None: gone)."""
        held = convs or {}
        for conversation_id in self.by_contact.get(contact_id, ()):
            if conversation_id not in held:
                self.current.pop((contact_id, conversation_id), None)
        kept: list[str] = []
        for conversation_id, state in held.items():
            due = self.next_due(state)
            self.set(contact_id, conversation_id, due)
            if due is not None:
                kept.append(conversation_id)
        if kept:
            self.by_contact[contact_id] = tuple(kept)
        else:
            self.by_contact.pop(contact_id, None)

    def set(self, contact_id: str, conversation_id: str, due: datetime | None) -> None:
        key = (contact_id, conversation_id)
        if due is None:
            self.current.pop(key, None)
            return
        at = due.timestamp()
        if self.current.get(key) == at:
            return
        self.current[key] = at
        heapq.heappush(self.heap, (at, contact_id, conversation_id))
        if len(self.heap) > 4 * len(self.current) + 1024:  # stale entries outgrow the live ones: compact
            self.heap = [(d, c, v) for (c, v), d in self.current.items()]
            heapq.heapify(self.heap)

    def due(self, now: datetime) -> Iterator[tuple[str, str]]:
        """(contact, conversation) of every entry due at `now`, each once. An entry popped
        stays out of the heap until its state changes or `retry` puts it back."""
        limit = now.timestamp()
        while self.heap and self.heap[0][0] <= limit:
            at, contact_id, conversation_id = heapq.heappop(self.heap)
            if self.current.get((contact_id, conversation_id)) != at:
                continue  # stale: the state moved on since this was pushed
            del self.current[(contact_id, conversation_id)]
            yield contact_id, conversation_id

    def retry(self, contact_id: str, conversation_id: str, at: datetime) -> None:
        """Look at the entry again at `at` (what was published for it is not read back yet)."""
        self.set(contact_id, conversation_id, at)


class DueTimers:
    """What the SLA, escalation and surveys handlers share: their `index` follows the changes
    the record loop applies, is built again after the table moved, and a tick reads only the
    states it names. A table of one state per contact (the surveys') sets `PER_CONTACT`: its
    states are indexed under one key each, as if the contact had one conversation."""

    index: DueIndex
    table: Any
    AWAITING_READ_BACK = timedelta(seconds=0.25)  # the timer's period: a later deadline of the same conversation is not delayed
    PER_CONTACT: ClassVar[bool] = False
    ONE = ""  # the key a per-contact state is indexed under

    def _by_conversation(self, value: Any) -> Mapping[str, Any]:
        if self.PER_CONTACT:
            return {} if value is None else {self.ONE: value}
        return value or {}

    def table_moved(self) -> None:
        self.index.invalidate()

    def applied(self, changes: dict[str, Any]) -> None:
        for contact_id, value in changes.items():
            self.index.changed(contact_id, None if value is DELETED else self._by_conversation(value))

    def due_states(self, now: datetime) -> Iterator[tuple[str, str, Any]]:
        """(contact, conversation, state) of what is due at `now`; each is looked at again
        a tick later until what the caller published for it is read back."""
        if not self.index.whole:
            self.index.rebuild({contact_id: self._by_conversation(value) for contact_id, value in list(self.table.items())}
                               if self.PER_CONTACT else self.table)
        for contact_id, conversation_id in list(self.index.due(now)):
            state = self._by_conversation(self.table.get(contact_id)).get(conversation_id)
            if state is None:
                continue
            yield contact_id, conversation_id, state
            self.index.retry(contact_id, conversation_id, now + self.AWAITING_READ_BACK)
