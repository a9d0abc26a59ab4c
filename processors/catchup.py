"""After a refill: the records below the refill's ends are history. A processor folds them
into its state as it did live (rebuild mode) and publishes only what the log does not
already have (derived ids make that exact: a decision made again has the id it had); its
timers stay held until every processor of this worker read past every end, so a clock or a
ladder that fell due while the hub was down fires once, then, from the whole state."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import events as ev
from hub import topics
from hub.store import archive
from processors.base import Publication

log = logging.getLogger("hub.processors")


class CatchUp:
    def __init__(self, ends: dict[tuple[str, int], int], readers: Iterable[tuple[str, Sequence[str]]], logged: set[str]) -> None:
        self.ends = {k: v for k, v in ends.items() if v > 0}
        self.logged = logged  # event ids the refilled log already holds
        # (processor, topic, partition) still short of the end
        self.remaining = {(name, t, p) for name, reads in readers for (t, p) in self.ends if t in reads}
        self.started = time.monotonic()
        self.on_done: list[Callable[[], None]] = []
        self.done = not self.remaining

    @classmethod
    def nothing(cls) -> "CatchUp":
        return cls({}, (), set())

    def history(self, message: Any) -> bool:
        """The record was in the log before this run: fold it, publish only what is missing."""
        return message.offset < self.ends.get((message.topic, message.partition), 0)

    def saw(self, processor: str, message: Any) -> None:
        self.starts_at(processor, message.topic, message.partition, message.offset + 1)

    def starts_at(self, processor: str, topic: str, partition: int, position: int) -> None:
        """`processor` reads the partition from `position` on (a consumer that kept its
        position in the database may start at the end and so never see a record of history)."""
        key = (processor, topic, partition)
        if self.done or key not in self.remaining or position < self.ends[(topic, partition)]:
            return
        self.remaining.discard(key)
        if not self.remaining:
            self.done = True
            log.info("caught up on the refilled log; timers run", extra={"seconds": round(time.monotonic() - self.started, 2)})
            for callback in self.on_done:
                callback()

    def missing(self, publications: Sequence[Publication]) -> list[Publication]:
        return [p for p in publications if p.event.id not in self.logged]


@dataclass(slots=True)
class LoggedHistory:
    """What processors published before the restart: the ids a rebuild may decide again, and
    the conversation each inbound message was threaded into. Intake reads two topics, and a
    rebuild may see a message before the resolution it came after, which live it had not:
    the logged thread keeps the message where it went."""

    ids: set[str] = field(default_factory=set)
    threads: dict[str, str] = field(default_factory=dict)  # inbound message id -> conversation id


async def logged_history(db: async_sessionmaker[AsyncSession]) -> LoggedHistory:
    names = [topics.CONVERSATIONS.name, topics.ROUTING.name]
    history = LoggedHistory()
    async with db() as s:
        # one pass: the archive keeps records verbatim, and only MessageReceived says where a message went
        async for topic, event_id, value in archive.archived_events(s, names):
            history.ids.add(event_id)
            if topic == topics.CONVERSATIONS.name and value and ev.peek_type(value) == "MessageReceived":
                data = json.loads(value)
                if data.get("conversation_id"):
                    history.threads[data["id"]] = data["conversation_id"]
    return history
