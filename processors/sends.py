"""Sending something to a person exactly once, as far as a provider call allows.

The intent is written to the table before the provider call and the result after it. A
redelivered request whose result is recorded is not sent again; one whose intent is
recorded but not its result (the worker died inside the provider call) is sent again and
marked as a repeat. Nothing else can send twice."""

from __future__ import annotations

from typing import Any

from channels.base import Channel, OutboundReply
from channels.delivery import deliver


async def send_once(table: Any, key: str, channel: Channel | None, reply: OutboundReply) -> tuple[dict[str, Any], bool]:
    """(result, repeated) for the send named `key`."""
    record = table.get(key) or {}
    if record.get("state") == "done":
        return record["result"], record.get("repeated", False)
    repeated = record.get("state") == "started"
    table[key] = {"state": "started"}
    r = await deliver(channel, reply)
    result = {"ok": r.ok, "status": r.status, "provider_id": r.provider_id, "error": r.error, "retryable": r.retryable}
    table[key] = {"state": "done", "result": result, "repeated": repeated}
    return result, repeated
