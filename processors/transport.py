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
    """faust's consumer, made safe across rebalances (our SIGKILL test lost messages).

    On a rebalance faust clears its agents' queues and seeks back to the committed offsets,
    but its drain loop goes on delivering the rest of the batch it fetched before the
    seek. A stale, higher offset then counts as a "gap" (which faust treats as acked, for
    compacted or transactional topics) and the re-fetched messages below it are dropped
    as already read. Here a batch stops at the first rebalance, our topics have no gaps
    to fill, and a commit never passes an offset that was not acked.
    """

    _log_start: dict[Any, int] = {}
    _generation: int = 0

    def stop_flow(self) -> None:
        self._generation += 1
        super().stop_flow()

    async def getmany(self, timeout: float) -> Any:
        generation = self._generation
        async for tp, message in super().getmany(timeout):
            if generation != self._generation or self.suspend_flow.is_set():
                return  # fetched before the rebalance: the seek fetches it again
            yield tp, message

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        # Our source topics are neither compacted nor transactional, so an offset jump
        # means stale records, never a hole that may be committed over.
        return None

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
        lost it in our SIGKILL test."""
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        if committed is None:
            # faust maps "never committed" and "committed 0" alike to None and then
            # checks nothing; the log start recorded at the last seek is the baseline.
            committed = self._log_start.get(tp)
        if acked and committed is not None and min(acked) > committed:
            return None
        return super()._new_offset(tp)


class Transport(fa.Transport):
    Consumer = Consumer


def register() -> None:
    """Make `hubkafka://` name this transport (faust looks schemes up in this table)."""
    drivers.TRANSPORTS.aliases[SCHEME] = "processors.transport:Transport"
