"""What every agent shares: decoding, error capture to `deadletter`, stats.

faust acks a message whose handler raised and never retries it, so nothing may escape a
handler: a failure is published to `deadletter` with the reason, and the stream goes on.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from typing import Any, Awaitable, Callable

from faust.types import EventT

from hub import events as ev

log = logging.getLogger("hub.processors")
stats: Counter[str] = Counter()


async def send(topic: Any, key: str, event: ev.Event) -> None:
    await topic.send(key=key.encode(), value=event.to_json())


async def dead_letter(processor: str, message: Any, reason: str) -> None:
    from processors.topics import deadletter

    payload = message.value if isinstance(message.value, bytes) else str(message.value).encode()
    letter = ev.DeadLettered(
        id=ev.derived_id("deadletter", processor, message.topic, str(message.partition), str(message.offset)),
        source_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        processor=processor,
        reason=reason[:2000],
        payload=payload.decode("utf-8", "replace")[:10000],
    )
    stats[f"deadletter.{processor}"] += 1
    log.error(
        "event dead-lettered",
        extra={"processor": processor, "topic": message.topic, "offset": message.offset, "reason": reason[:300]},
    )
    await send(deadletter, message.topic, letter)


async def guarded(
    processor: str,
    event: EventT,
    handle: Callable[[ev.Event], Awaitable[None]],
    handles: frozenset[str] | None = None,
) -> None:
    """Decode one record and run `handle` on it; anything that raises goes to deadletter.
    With `handles`, records of other event types are skipped undecoded (several agents
    read `conversation.events` and each wants a few types)."""
    message = event.message
    if handles is not None and isinstance(message.value, bytes):
        kind = ev.peek_type(message.value)
        if kind is not None and kind not in handles:
            return
    try:
        decoded = ev.from_json(message.value)
    except ev.UnknownEvent as exc:
        await dead_letter(processor, message, f"undecodable: {exc}")
        return
    try:
        await handle(decoded)
        stats[f"processed.{processor}"] += 1
    except Exception as exc:  # noqa: BLE001 - see module docstring
        await dead_letter(processor, message, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")
