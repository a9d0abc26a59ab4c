"""Sending one reply through its adapter: limits checked first, retryable failures retried
with backoff, every outcome a SendResult (adapters never raise out of here)."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Sequence

from channels.base import Channel, OutboundReply, SendResult

log = logging.getLogger("hub.delivery")
BACKOFF: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
# A provider asking for a longer pause than this is not waited for: the partition's other
# sends would stall behind it, so the reply fails with the provider's reason instead.
MAX_RETRY_AFTER = 60.0


async def deliver(
    channel: Channel | None,
    reply: OutboundReply,
    *,
    backoff: Sequence[float] = BACKOFF,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> SendResult:
    if channel is None:
        return SendResult(ok=False, error=f"no adapter for channel {reply.channel!r}")
    if len(reply.text) > channel.max_text:
        return SendResult(ok=False, error=f"text longer than {channel.max_text} characters for {reply.channel}")
    result = SendResult(ok=False, error="not attempted")
    for attempt, pause in enumerate((0.0, *backoff)):
        if attempt and result.retry_after is not None:
            if result.retry_after > MAX_RETRY_AFTER:
                return SendResult(ok=False, error=f"{result.error} (asked to wait {result.retry_after:.0f} s, more than {MAX_RETRY_AFTER:.0f} s)")
            pause = max(pause, result.retry_after)
        if pause:
            await sleep(pause)
        try:
            result = await channel.send(reply)
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not kill the stream
            result = SendResult(ok=False, error=f"{type(exc).__name__}: {exc}", retryable=False)
        if result.ok or not result.retryable:
            return result
        log.warning("send failed, retrying", extra={"conversation_id": reply.conversation_id, "attempt": attempt + 1, "error": result.error})
    return result
