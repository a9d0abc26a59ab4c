"""The record loop: a batch of records decoded once, handed to every handler that wants
them, each handler's Outcome applied once per batch.

One consumer reads each topic for every processor of its group (processors/pipeline.py
`group`), so a record is fetched and decoded once however many processors read it; records
of types no member handles are skipped undecoded. Each member gets the records it handles
in log order (so in order per key) in one `handle()` call: its table is written once per
batch, and what it decided is published in one `publish` call per batch.

faust acks a message whose handler raised and never retries it, so nothing may escape a
handler: when a member fails on a batch, that member is run again one record at a time
(nothing of the failed call was applied), the record that fails goes to `deadletter` with
the reason, and the stream goes on."""

from __future__ import annotations

import logging
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, MutableMapping, Sequence

from hub import events as ev
from hub import topics
from processors.base import Handler, Outcome, Publication, dead_letter, stats
from processors.catchup import CatchUp
from processors.pipeline import Processor

log = logging.getLogger("hub.processors")

Publish = Callable[[Sequence[Publication]], Awaitable[None]]


@dataclass(frozen=True)
class Member:
    """One processor of a consumer's group: its spec, its handler, and the table its
    Outcome is applied to (None for a handler without one, or that keeps it elsewhere)."""

    spec: Processor
    handler: Handler
    table: MutableMapping[str, Any] | None
    persist: bool = False  # keep the table's changes with handler.persist before the positions move on

    def reads(self, topic: str) -> bool:
        return any(t.name == topic for t in self.spec.reads)


async def process_record(spec: Processor, handler: Handler, message: Any, table: MutableMapping[str, Any] | None, publish: Publish,
                         persist: Callable[[dict[str, Any]], Awaitable[None]] | None = None, catchup: CatchUp | None = None) -> None:
    """One record through one handler (the batch loop with a batch of one)."""
    await process_batch([Member(spec, handler, table, persist=persist is not None)], [message], publish, catchup=catchup)


async def process_batch(members: Sequence[Member], messages: Sequence[Any], publish: Publish, catchup: CatchUp | None = None) -> None:
    """Every record of `messages` (in log order) to every member that reads its topic and
    handles its type; then each member's table changes, then one publish of all outputs.
    With `catchup`, records of the refilled history are folded and only what the log
    lacks is published."""
    if not messages:
        return
    if catchup is None or catchup.done:
        await _processed(members, messages, publish)
        return
    # a batch can straddle the refill's end: history and live records go in runs
    run: list[Any] = []
    run_is_history = False
    for message in messages:
        is_history = catchup.history(message)
        if run and is_history != run_is_history:
            await _run(members, run, publish, catchup, run_is_history)
            run = []
        run.append(message)
        run_is_history = is_history
    await _run(members, run, publish, catchup, run_is_history)


async def _run(members: Sequence[Member], messages: Sequence[Any], publish: Publish, catchup: CatchUp, history: bool) -> None:
    for member in members:
        for message in messages:
            if member.reads(message.topic):
                catchup.saw(member.spec.name, message)
    if not history:
        await _processed(members, messages, publish)
        return

    async def missing_only(publications: Sequence[Publication]) -> None:
        await publish(catchup.missing(publications))

    # senders (consumers) are not put in rebuild mode: a reply the log asked for and nobody
    # sent must still go out; their sends table says which went (processors/sends.py)
    for member in members:
        member.handler.rebuilding = member.spec.kind == "agent"
    try:
        await _processed(members, messages, missing_only)
    finally:
        for member in members:
            member.handler.rebuilding = False


async def _processed(members: Sequence[Member], messages: Sequence[Any], publish: Publish) -> None:
    wanted: list[list[tuple[Any, ev.Event]]] = [[] for _ in members]
    out: list[Publication] = []
    for message in messages:
        value = message.value
        kind = ev.peek_type(value) if isinstance(value, bytes) else None
        readers = [i for i, m in enumerate(members) if m.reads(message.topic) and (not m.spec.handles or kind is None or kind in m.spec.handles)]
        if not readers:
            continue
        try:
            decoded = ev.from_json(value)
        except ev.UnknownEvent as exc:
            failing = [members[i].spec.name for i in readers if topics.DEADLETTER not in members[i].spec.reads]
            if failing:  # once per record, named after the first processor that could not read it
                out.append(dead_letter(failing[0], message.topic, message.partition, message.offset, value, f"undecodable: {exc}"))
            continue
        for i in readers:
            wanted[i].append((message, decoded))
    for member, items in zip(members, wanted):
        if items:
            out.extend(await _handled(member, items))
    if out:
        await publish(out)


async def _handled(member: Member, items: list[tuple[Any, ev.Event]]) -> list[Publication]:
    """The member's outputs for its records, its changes applied (and persisted)."""
    try:
        outcome = await member.handler.handle([e for _, e in items])
    except Exception:  # noqa: BLE001 - see module docstring
        if len(items) == 1:
            letter = _failed(member, items[0][0])
            return [letter] if letter else []
        return await _one_by_one(member, items)
    await _apply(member, outcome)
    stats[f"processed.{member.spec.name}"] += len(items)
    return outcome.publish


async def _one_by_one(member: Member, items: list[tuple[Any, ev.Event]]) -> list[Publication]:
    """A batch the member failed on, again record by record: the record that fails is
    dead-lettered, the others are handled (a redone send is not sent twice, processors/sends.py)."""
    out: list[Publication] = []
    for message, event in items:
        try:
            outcome = await member.handler.handle([event])
        except Exception:  # noqa: BLE001
            letter = _failed(member, message)
            out.extend([letter] if letter else [])
            continue
        await _apply(member, outcome)
        out.extend(outcome.publish)
        stats[f"processed.{member.spec.name}"] += 1
    return out


async def _apply(member: Member, outcome: Outcome) -> None:
    if member.table is not None:
        outcome.apply_to(member.table)
    if member.persist:
        await member.handler.persist(outcome.changes)
    member.handler.applied(outcome.changes)


def _failed(member: Member, message: Any) -> Publication | None:
    """The dead letter for the record `member` failed on (called inside its except)."""
    if topics.DEADLETTER in member.spec.reads:  # a dead letter that fails is logged, never looped
        log.exception("could not record dead letter")
        return None
    exc = sys.exc_info()[1]
    reason = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
    return dead_letter(member.spec.name, message.topic, message.partition, message.offset, message.value, reason)
