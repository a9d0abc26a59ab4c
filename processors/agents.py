"""The agent loop: one record at a time through a handler, then its Outcome applied.

faust acks a message whose handler raised and never retries it, so nothing may escape a
handler: a failure is published to `deadletter` with the reason, and the stream goes on.
Records of types the processor does not handle are skipped undecoded (several processors
read `conversation.events` and each wants a few types)."""

from __future__ import annotations

import logging
import traceback
from typing import Any, Awaitable, Callable, MutableMapping, Sequence

from hub import events as ev
from hub import topics
from processors.base import Handler, Publication, dead_letter, stats
from processors.catchup import CatchUp
from processors.pipeline import Processor

log = logging.getLogger("hub.processors")

Publish = Callable[[Sequence[Publication]], Awaitable[None]]


async def process_record(spec: Processor, handler: Handler, message: Any, table: MutableMapping[str, Any] | None, publish: Publish,
                         persist: Callable[[dict[str, Any]], Awaitable[None]] | None = None, catchup: CatchUp | None = None) -> None:
    """Decode one record, run the handler, apply its table changes (and keep them, with
    `persist`, where no faust changelog does), publish what it decided. With `catchup`, a
    record of the refilled history is folded and only what the log lacks is published."""
    if catchup is not None and not catchup.done:
        catchup.saw(spec.name, message)
        if catchup.history(message):
            await _refolded(spec, handler, message, table, publish, persist, catchup)
            return
    await _processed(spec, handler, message, table, publish, persist)


async def _refolded(spec: Processor, handler: Handler, message: Any, table: MutableMapping[str, Any] | None, publish: Publish,
                    persist: Callable[[dict[str, Any]], Awaitable[None]] | None, catchup: CatchUp) -> None:
    async def missing_only(publications: Sequence[Publication]) -> None:
        await publish(catchup.missing(publications))

    # senders (consumers) are not put in rebuild mode: a reply the log asked for and nobody
    # sent must still go out; their sends table says which went (processors/sends.py)
    handler.rebuilding = spec.kind == "agent"
    try:
        await _processed(spec, handler, message, table, missing_only, persist)
    finally:
        handler.rebuilding = False


async def _processed(spec: Processor, handler: Handler, message: Any, table: MutableMapping[str, Any] | None, publish: Publish,
                     persist: Callable[[dict[str, Any]], Awaitable[None]] | None) -> None:
    value = message.value
    if spec.handles and isinstance(value, bytes):
        kind = ev.peek_type(value)
        if kind is not None and kind not in spec.handles:
            return
    failure = topics.DEADLETTER not in spec.reads  # a dead letter that fails is logged, never looped
    try:
        decoded = ev.from_json(value)
    except ev.UnknownEvent as exc:
        if failure:
            await publish([dead_letter(spec.name, message.topic, message.partition, message.offset, value, f"undecodable: {exc}")])
        return
    try:
        outcome = await handler.handle([decoded])
    except Exception as exc:  # noqa: BLE001 - see module docstring
        if not failure:
            log.exception("could not record dead letter")
            return
        reason = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
        await publish([dead_letter(spec.name, message.topic, message.partition, message.offset, value, reason)])
        return
    if table is not None:
        outcome.apply_to(table)
    if persist is not None:
        await persist(outcome.changes)
    await publish(outcome.publish)
    stats[f"processed.{spec.name}"] += 1
