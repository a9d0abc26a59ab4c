"""The worker: `build_app(settings)` makes the Faust app and registers every processor of
processors/pipeline.py as an agent (or, for the projector, its own consumer thread), its
table and its timers. Nothing happens at import."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence

import faust

from hub import events as ev
from hub import topics
from hub.bus import Bus
from hub.config import Settings
from hub.store.db import make_engine, sessionmaker
from processors import transport
from processors.agents import Member, process_batch
from processors.base import Handler, Publication
from processors.catchup import CatchUp, LoggedHistory
from processors.pipeline import PIPELINE, WORKER_TIMERS, Processor
from processors.readiness import Heartbeat
from processors.state_codec import StateCodec

log = logging.getLogger("hub.worker")


@dataclass
class Worker:
    """What one worker process holds: its app, handlers and tables, by processor name."""

    app: faust.App
    settings: Settings
    bus: Bus
    handlers: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)  # consumer groups of our own, beside faust's
    worker_id: str = ""
    log_id: str = ""  # the log this worker reads (hub/archive/identity.py)
    catchup: CatchUp = field(default_factory=CatchUp.nothing)

    def configure(self, settings: Settings) -> None:
        """New settings for every handler while running (state stays)."""
        self.settings = settings
        for handler in self.handlers.values():
            handler.configure(settings)


class HubApp(faust.App):
    """faust's App, starting `starting` with itself: an `app.task` starts only once the
    first rebalance is done and the tables recovered (~2 s on a fresh hub), and the consumer
    groups of our own (the senders, the projector) need neither, so they join beside
    faust's consumer instead of after it."""

    starting: list[Callable[[], Awaitable[None]]]

    async def on_start(self) -> None:
        await super().on_start()
        starting, self.starting = getattr(self, "starting", []), []  # once, not again on a restart of the service
        for start in starting:
            await start()


def faust_app(settings: Settings) -> faust.App:
    transport.register()
    return HubApp(
        settings.app_id,
        broker=f"{transport.SCHEME}://{settings.kafka_bootstrap}",
        store="memory://",
        datadir=str(settings.var_dir / "faust"),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        # Tansu and Kafka alike: a cold worker joins in ~5 s, one killed with SIGKILL is
        # replaced in ~13 s, instead of ~30 s and ~110 s with the defaults (6 s sessions).
        broker_session_timeout=settings.group_session_seconds,
        broker_rebalance_timeout=settings.group_session_seconds,
        broker_heartbeat_interval=settings.group_timing_ms()["heartbeat_interval_ms"] / 1000,
        broker_commit_interval=0.5,
        producer_acks=-1,
        producer_linger=0.005,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        table_standby_replicas=0,
    )


def build_app(settings: Settings, log: Any = None, logged: LoggedHistory | None = None) -> Worker:
    """The whole worker for `settings`: agents, tables and timers from the pipeline table.

    `log` is the LogState this run reads (hub/archive/refill.py; `contacthub worker`
    prepares it before building), `logged` what its refilled history holds. Without
    `log` the worker marks or reads the log itself when it starts (the archive must be off)."""
    if not settings.kafka_bootstrap:
        raise ValueError("the worker needs HUB_KAFKA_BOOTSTRAP (`contacthub run` sets it for the embedded broker)")
    # The projector and aiosqlite hand work between threads many times per batch; with the
    # default 5 ms GIL switch interval each hand-off could wait that long behind faust's threads.
    sys.setswitchinterval(0.0005)
    (settings.var_dir / "faust").mkdir(parents=True, exist_ok=True)
    app = faust_app(settings)
    db = sessionmaker(make_engine(settings.database_url))
    bus = Bus(settings.kafka_bootstrap)
    worker = Worker(app, settings, bus, worker_id=f"{socket.gethostname()}-{os.getpid()}", log_id=log.log_id if log else "")
    if log is not None and log.refilled:
        readers = [(p.name, [t.name for t in p.reads]) for p in PIPELINE if not p.thread]
        worker.catchup = CatchUp(log.ends, readers, logged.ids if logged else set())
    faust_topics: dict[tuple[str, ...], Any] = {}

    def topic_of(*specs: topics.TopicSpec) -> Any:
        names = tuple(s.name for s in specs)
        if names not in faust_topics:
            faust_topics[names] = app.topic(*names, key_serializer="raw", value_serializer="raw", partitions=settings.partitions, internal=False)
        return faust_topics[names]

    async def publish(publications: Sequence[Publication]) -> None:
        # faust's producer: it is flushed before faust commits the records' offsets
        for p in publications:
            await topic_of(p.topic).send(key=p.key.encode(), value=p.event.to_json())

    from processors.sends import Sender

    channels: dict[str, Any] = {}

    def channel_for(name: str) -> Any:
        if not channels:  # built on first use: the web chat adapter needs the started bus
            from channels import registry

            channels.update(registry.build(settings, bus))
        return channels.get(name)

    sender = Sender(db, channel_for)
    from processors.consumer import OwnGroup

    members: dict[str, list[tuple[Processor, Handler]]] = {}
    agent_groups: dict[str, list[Member]] = {}
    for spec in PIPELINE:
        if spec.kind == "consumer":
            if not spec.thread:  # those on a thread of their own make their handlers there
                worker.handlers[spec.name] = handler = make_handler(spec, settings, table=None, db=db, sender=sender, logged=logged, others=worker.handlers)
                members.setdefault(spec.group or spec.name, []).append((spec, handler))
            continue
        table = None
        if spec.table:
            cls = spec.handler_class()
            codec = cls.codec() if hasattr(cls, "codec") else None
            table = new_table(app, spec.table, settings.partitions, codec)
            worker.tables[spec.name] = table
        handler = make_handler(spec, settings, table=table, db=db, sender=sender, logged=logged, others=worker.handlers)
        worker.handlers[spec.name] = handler
        agent_groups.setdefault(spec.group or spec.name, []).append(Member(spec, handler, table))
        for timer in spec.timers:
            _register_timer(app, spec, timer.name, timer.every, handler, publish)
    for group, group_members in agent_groups.items():
        reads = tuple(dict.fromkeys(t for m in group_members for t in m.spec.reads))
        _register_agent(app, group, group_members, topic_of(*reads), publish, worker.catchup)

    from processors import consumer, projector

    groups = [OwnGroup(name, group, settings, bus, db, lambda: worker.log_id, worker.catchup) for name, group in members.items()]
    worker.groups = [g.name for g in groups]

    def holding() -> tuple[bool, int]:
        own = [*(consumer.assigned[g.name] for g in groups)]
        if not settings.projector_process:  # else the projector's process holds those
            own.append(projector.assigned_partitions)
            if settings.archive:
                own.append(projector.archiving)
        return _holds_partitions(app, own)

    def release_timers() -> None:
        for handler in worker.handlers.values():
            handler.held = False

    if not worker.catchup.done:
        for handler in worker.handlers.values():
            handler.held = True
        worker.catchup.on_done.append(release_timers)

    heartbeat_row = Heartbeat(worker.worker_id, db, holding, lambda: worker.log_id, lambda: worker.catchup.done,
                              settled_after=settings.group_session_seconds / 2)

    from processors.stall import FaustStallGuard, LogEnds

    log_ends = LogEnds(settings.kafka_bootstrap)
    guard = FaustStallGuard(app, settings.stall_seconds, log_ends)

    async def heartbeat() -> None:
        await heartbeat_row.beat()

    async def stall_watch() -> None:
        if settings.stall_seconds > 0:
            await guard.check()

    bodies = {"heartbeat": heartbeat, "stall_watch": stall_watch}
    for timer in WORKER_TIMERS:
        app.timer(timer.every, name=f"hub.{timer.name}")(survives(timer.name, bodies[timer.name]))

    running: list[asyncio.Future[None]] = []

    async def start_bus_and_consumers() -> None:
        if not worker.log_id:
            from hub.archive.refill import prepare_log

            worker.log_id = (await prepare_log(settings, refill=False)).log_id
        await bus.start()
        if not settings.projector_process:
            projector.start_in_thread(settings, worker.log_id)
        running.extend(asyncio.ensure_future(g.run_forever()) for g in groups)

    app.starting = [start_bus_and_consumers]

    @app.on_before_shutdown.connect
    async def stop_bus(app: faust.App, **_: object) -> None:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await bus.stop()
        await log_ends.close()

    return worker


def survives(name: str, body: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A worker timer's body that logs what it raised and runs again next period: faust
    crashes the whole app on a timer's exception, and a heartbeat row that waited past
    SQLite's busy timeout under load ended the worker that way."""

    async def run() -> None:
        try:
            await body()
        except Exception:  # noqa: BLE001 - see above; the next period tries again
            log.warning("worker timer failed; it runs again next period", extra={"timer": name}, exc_info=True)

    run.__name__ = run.__qualname__ = name
    return run


def new_table(app: faust.App, name: str, partitions: int, codec: StateCodec | None) -> Any:
    """A table whose changelog is written by `codec`. faust takes a table's serializer only
    from a Record value_type and fixes its changelog topic when the table is added, so the
    codec is set between the two."""
    table = app.conf.Table(app, name=name, default=None, beacon=app.tables.beacon, partitions=partitions)
    if codec is not None:
        table.value_serializer = codec
    return app.tables.add(table)


def make_handler(spec: Processor, settings: Settings, *, table: Any, db: Any, sender: Any, logged: LoggedHistory | None = None,
                 others: dict[str, Any] | None = None) -> Handler:
    """The handler of `spec` with what it needs from the worker (database, sender, history,
    and for intake the surveys handler built before it)."""
    cls = spec.handler_class()
    if spec.name == "intake":
        from processors.intake import read_model_lookup

        threads = logged.threads if logged else None
        surveys = (others or {}).get("surveys")
        return cls(settings, table=table, open_in_read_model=read_model_lookup(db), logged_threads=threads,  # type: ignore[no-any-return]
                   answered_survey=surveys.answered if surveys is not None else None)
    if spec.name == "dispatch":
        return cls(settings, table=table, sender=sender, db=db)  # type: ignore[no-any-return]
    if spec.name == "notifier":
        from processors.notifier import people_in

        return cls(settings, table=table, sender=sender, people=people_in(db))  # type: ignore[no-any-return]
    if spec.name == "deadletter":
        return cls(settings, table=table, db=db)  # type: ignore[no-any-return]
    return cls(settings, table=table)  # type: ignore[no-any-return]


def _register_agent(app: faust.App, group: str, members: Sequence[Member], source: Any, publish: Any, catchup: CatchUp) -> None:
    async def agent(stream: Any) -> None:
        # one record at a time, decoded once for every member: a take_events batch writes its
        # tables after faust's current event moved on, and use_partitioner lost messages
        # after a restart in the worker-kill test (docs/design.md, known traps)
        async for event in stream.events():
            await process_batch(members, [event.message], publish, catchup=catchup)

    agent.__name__ = agent.__qualname__ = group
    app.agent(source, name=f"hub.{group}", concurrency=1)(agent)


def _register_timer(app: faust.App, spec: Processor, name: str, every: float, handler: Handler, publish: Any) -> None:
    seen_rebalances = [-1]

    async def tick() -> None:
        moved = seen_rebalances[0] != app.rebalancing_count
        if app.rebalancing or getattr(app, "in_recovery", False) or moved:
            # partitions came and went, the table was recovered: an index over it is built again
            seen_rebalances[0] = app.rebalancing_count
            handler.table_moved()
            return
        await publish(handler.tick(ev.utcnow()).publish)

    tick.__name__ = tick.__qualname__ = f"{spec.name}_{name}"
    app.timer(every, name=f"hub.{spec.name}.{name}")(tick)


def _holds_partitions(app: faust.App, own_groups: list[set[int]]) -> tuple[bool, int]:
    """Faust's consumer and every consumer group of our own hold partitions, nothing rebalancing."""
    try:
        assigned = len(app.consumer.assignment())
    except Exception:  # noqa: BLE001 - consumer not started yet
        return False, 0
    return assigned > 0 and all(own_groups) and not app.rebalancing and not getattr(app, "in_recovery", False), assigned
