"""The Faust app: one per worker process; agents live in the modules named after what they consume."""

from __future__ import annotations

import logging
import os
import socket
import sys

import faust

from hub import config
from hub.bus import Bus
from hub.store.db import make_engine, sessionmaker
from processors import transport

# The projector and aiosqlite hand work between threads many times per batch; with the
# default 5 ms GIL switch interval each hand-off could wait that long behind faust's threads.
sys.setswitchinterval(0.0005)

settings = config.load()
(settings.var_dir / "faust").mkdir(parents=True, exist_ok=True)
if not settings.kafka_bootstrap:
    raise SystemExit("the worker needs HUB_KAFKA_BOOTSTRAP (`contacthub run` sets it for the embedded broker)")

app = faust.App(
    settings.app_id,
    broker=f"{transport.SCHEME}://{settings.kafka_bootstrap}",
    store="memory://",
    datadir=str(settings.var_dir / "faust"),
    topic_partitions=settings.partitions,
    topic_replication_factor=settings.replication_factor,
    # Tansu and Kafka alike: a cold worker joins in ~5 s, one killed with SIGKILL is
    # replaced in ~13 s, instead of ~30 s and ~110 s with the defaults.
    broker_session_timeout=6.0,
    broker_rebalance_timeout=6.0,
    broker_heartbeat_interval=1.0,
    broker_commit_interval=0.5,
    producer_acks=-1,
    producer_linger=0.005,
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
    table_standby_replicas=0,
)

engine = make_engine(settings.database_url)
db = sessionmaker(engine)
bus = Bus(settings.kafka_bootstrap)
worker_id = f"{socket.gethostname()}-{os.getpid()}"
log = logging.getLogger("hub.worker")


@app.task
async def _start_bus_and_projector() -> None:
    from processors.projector import start_in_thread

    await bus.start()
    start_in_thread(settings)


@app.on_before_shutdown.connect
async def _stop_bus(app: faust.App, **_: object) -> None:
    await bus.stop()


# The agents register themselves on import.
from processors import deadletter, dispatch, escalation, intake, notifier, readiness, routing, sla  # noqa: E402,F401
