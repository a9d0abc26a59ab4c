"""How far the worker's faust agents are behind the log: per topic, the records between
what the app's consumer group committed and where each partition ends. The bench waits on
it, so that "idle" means a worker with nothing left to read, not one still digesting a fill."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hub import topics


async def behind(bootstrap: str, group: str, names: tuple[str, ...] = (topics.INBOUND.name, topics.CONVERSATIONS.name, topics.ROUTING.name)) -> dict[str, int]:
    """topic -> records `group` has not committed yet (a partition it never committed counts whole)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    ends_client = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await admin.start()
    await ends_client.start()
    try:
        partitions = [TopicPartition(t, p) for t in names for p in sorted(ends_client.partitions_for_topic(t) or ())]
        ends = await ends_client.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
    finally:
        await ends_client.stop()
        await admin.close()
    out = {t: 0 for t in names}
    for tp, end in ends.items():
        meta = committed.get(tp)
        done = meta.offset if meta is not None and meta.offset >= 0 else 0
        out[tp.topic] += max(0, int(end) - done)
    return out


async def until_caught_up(bootstrap: str, group: str, timeout: float, every: float = 10.0) -> dict[str, Any]:
    """Samples `behind` every `every` s until nothing is left (or `timeout`): the seconds it
    took and the curve, so a slow catch-up shows which topic held it."""
    t0 = time.perf_counter()
    curve: list[dict[str, Any]] = []
    while True:
        try:
            lag = await behind(bootstrap, group)
        except Exception as exc:  # noqa: BLE001 - a broker busy past the client's timeout: sample again
            lag = {"error": repr(exc)[:200]}
        curve.append({"s": round(time.perf_counter() - t0, 1), **lag})
        if "error" not in lag and not any(lag.values()):
            return {"caught_up_s": curve[-1]["s"], "curve": curve}
        if time.perf_counter() - t0 > timeout:
            return {"caught_up_s": None, "curve": curve}
        await asyncio.sleep(every)
