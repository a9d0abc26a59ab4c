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
    def _new_consumer_thread(self) -> fa.AIOKafkaConsumerThread:
        return ShortFetchConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(fa.Transport):
    Consumer = Consumer


drivers.TRANSPORTS.aliases[SCHEME] = "processors.transport:Transport"
