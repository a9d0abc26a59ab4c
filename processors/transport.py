"""Faust's aiokafka transport with a short fetch wait.

Faust hard-codes fetch_max_wait_ms=1500. Kafka answers a fetch as soon as data arrives, but
Tansu holds it for the whole wait, which would add up to 1.5 s per hop on the embedded
broker. HUB_FETCH_MAX_WAIT_MS (default 10 ms) applies to both; on Kafka it only means a few
more empty fetches while idle.
"""

from __future__ import annotations

import os
from typing import Any

import faust.transport.drivers as drivers
from faust.transport.drivers import aiokafka as fa

SCHEME = "hubkafka"


class ShortFetchConsumerThread(fa.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = int(os.environ.get("HUB_FETCH_MAX_WAIT_MS", "10"))
        return consumer


class Consumer(fa.Consumer):
    _log_start: dict[Any, int] = {}

    async def perform_seek(self) -> None:
        await super().perform_seek()
        assigned = list(self.assignment())
        self._log_start = dict(await self.earliest_offsets(*assigned)) if assigned else {}

    def _new_consumer_thread(self) -> fa.AIOKafkaConsumerThread:
        return ShortFetchConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _new_offset(self, tp: Any) -> Any:
        """Never commit past an offset that was not acked.

        faust's own check lets a one-message gap at the head through (committed offsets
        are next-to-read, so the head is missing whenever min(acked) > committed, not
        only when it is > committed + 1). On a rebalance faust drops the messages
        buffered for its agents; committing past one of them before the next rebalance
        lost it in our SIGKILL test. Gaps faust recorded itself (compaction, transaction
        markers) still count as acked."""
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        if committed is None:
            # faust maps "never committed" and "committed 0" alike to None and then
            # checks nothing; the log start recorded at the last seek is the baseline.
            committed = self._log_start.get(tp)
        if acked and committed is not None:
            head = min(acked)
            gaps = self._gap[tp]
            if gaps:
                head = min([head, *(iv.begin for iv in gaps.overlap(0, head + 1))])
            if head > committed:
                return None
        return super()._new_offset(tp)


class Transport(fa.Transport):
    Consumer = Consumer


drivers.TRANSPORTS.aliases[SCHEME] = "processors.transport:Transport"
