"""The `contacthub` command. Every subcommand applies pending migrations first."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import signal
import subprocess
import sys
import time
from typing import Any, Awaitable, Callable, Sequence

from hub import config, logs

log = logging.getLogger("hub.cli")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="contacthub", description="Omnichannel contact hub")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="embedded broker (unless HUB_KAFKA_BOOTSTRAP), worker and web in one command")
    sub.add_parser("web", help="the web role: API, webhooks, sockets, pages")
    sub.add_parser("worker", help="the worker role: the stream processors")
    sub.add_parser("projector", help="the projector (and archiver) in a process of their own, with HUB_PROJECTOR=process")
    b = sub.add_parser("broker", help="run the embedded Tansu broker in the foreground")
    b.add_argument("--port", type=int, default=9092)
    b.add_argument("--host", default="127.0.0.1")
    sub.add_parser("migrate", help="apply pending database migrations")
    sub.add_parser("refill", help="mark an empty embedded log, writing the archive back into it first (`run` does this itself)")
    r = sub.add_parser("replay", help="rebuild the read model from conversation.events")
    r.add_argument("--sla", action="store_true", help="instead, re-apply the configured SLA policies to the logged history and report what would have breached")
    r.add_argument("--json", action="store_true", help="with --sla: every outcome as JSON")
    d = sub.add_parser("deadletter", help="list what could not be processed")
    d.add_argument("--limit", type=int, default=50)
    d.add_argument("--json", action="store_true")
    users = sub.add_parser("users", help="manage users").add_subparsers(dest="action", required=True)
    ua = users.add_parser("add")
    ua.add_argument("name")
    ua.add_argument("--role", choices=("agent", "lead", "manager", "admin"), default="agent")
    ua.add_argument("--password")
    ua.add_argument("--email")
    ua.add_argument("--telegram")
    ua.add_argument("--phone")
    ua.add_argument("--queues", default="", help="comma separated; the default queue when left out")
    ua.add_argument("--capacity", type=int, default=5)
    ul = users.add_parser("list", help="every user, her role and whether she is disabled")
    ul.add_argument("--json", action="store_true")
    ur = users.add_parser("set-role", help="a new role; ends her sessions")
    ur.add_argument("name")
    ur.add_argument("role", choices=("agent", "lead", "manager", "admin"))
    up = users.add_parser("set-password", help="a new password (asked when not given); ends her sessions")
    up.add_argument("name")
    up.add_argument("--password")
    for action, words in (("disable", "she can no longer sign in; ends her sessions"), ("enable", "she may sign in again"),
                          ("remove", "removes the user; ends her sessions")):
        users.add_parser(action, help=words).add_argument("name")
    keys = sub.add_parser("apikeys", help="manage integrator API keys").add_subparsers(dest="action", required=True)
    ka = keys.add_parser("add")
    ka.add_argument("name")
    keys.add_parser("list", help="the keys' names and when each was made (the keys themselves are not kept)")
    keys.add_parser("revoke", help="the key is refused at once").add_argument("name")
    canned = sub.add_parser("canned", help="manage canned responses").add_subparsers(dest="action", required=True)
    ca = canned.add_parser("add")
    ca.add_argument("shortcut")
    ca.add_argument("text", help="may hold {{customer.name}}, {{agent.name}}, {{conversation.id}}, {{queue}}")
    ca.add_argument("--title", default="")
    return p


async def _db_session(settings: config.Settings) -> Any:
    from hub.store.db import make_engine, sessionmaker

    engine = make_engine(settings.database_url)
    return engine, sessionmaker(engine)


async def _ensure_admin(settings: config.Settings) -> str | None:
    from hub.auth import ensure_admin

    engine, db = await _db_session(settings)
    try:
        async with db() as s, s.begin():
            return await ensure_admin(s, settings.var_dir)
    finally:
        await engine.dispose()


async def _users_add(settings: config.Settings, args: argparse.Namespace) -> int:
    from hub.auth import AuthError, add_user

    password = args.password or (getpass.getpass(f"password for {args.name}: ") if sys.stdin.isatty() else None)
    if not password:
        print("error: give --password (no terminal to ask on)", file=sys.stderr)
        return 2
    engine, db = await _db_session(settings)
    try:
        async with db() as s, s.begin():
            await add_user(
                s, args.name, args.role, password, email=args.email, telegram=args.telegram, phone=args.phone,
                queues=[q.strip() for q in args.queues.split(",") if q.strip()], capacity=args.capacity,
            )
    except AuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"user {args.name} added with role {args.role}")
    return 0


async def _tell_web(settings: config.Settings) -> Any:
    """A bus to say a change on `live`, so web processes act at once; None without a broker
    to reach (they notice within hub/web/sessions.py's TTL, and say so)."""
    from hub.bus import Bus

    if not settings.kafka_bootstrap:
        return None
    bus = Bus(settings.kafka_bootstrap, send_timeout=5.0)
    try:
        await asyncio.wait_for(bus.start(), 10)
    except Exception:  # noqa: BLE001 - no broker reachable: the change still holds, only later
        print("note: no broker reachable; running web processes apply this within 30 s", file=sys.stderr)
        return None
    return bus


async def _accounts(settings: config.Settings, work: Callable[[Any, Callable[[], Awaitable[Any]]], Awaitable[str]]) -> int:
    """Runs a users/apikeys change: `work(db, told)` gets the database and a way to reach
    the running web processes (`told()`: a bus, or None without a broker), and returns what
    to print; a refusal (AuthError) is the error it prints."""
    from hub.auth import AuthError

    engine, db = await _db_session(settings)
    buses: list[Any] = []

    async def told() -> Any:
        bus = await _tell_web(settings)
        buses.extend([bus] if bus is not None else [])
        return bus

    try:
        said = await work(db, told)
    except AuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for bus in buses:
            await bus.stop()
        await engine.dispose()
    if said:
        print(said)
    return 0


async def _users_change(settings: config.Settings, args: argparse.Namespace) -> int:
    from hub import accounts
    from hub.store import users as stored

    password = None
    if args.action == "set-password":
        password = args.password or (getpass.getpass(f"new password for {args.name}: ") if sys.stdin.isatty() else None)
        if not password:
            print("error: give --password (no terminal to ask on)", file=sys.stderr)
            return 2

    async def work(db: Any, told: Callable[[], Awaitable[Any]]) -> str:
        if args.action == "list":
            async with db() as s:
                found = [accounts.user_json(u) for u in await stored.all_users(s)]
            return json.dumps(found, ensure_ascii=False) if args.json else \
                "\n".join(f"{u['username']:<24} {u['role']:<8} {'disabled' if u['disabled'] else 'active'}" for u in found)
        if args.action == "remove":
            await accounts.remove_user(db, await told(), args.name)
            return f"user {args.name} removed; her sessions have ended"
        change = {"set-role": accounts.Change(role=getattr(args, "role", None)), "disable": accounts.Change(disabled=True),
                  "enable": accounts.Change(disabled=False), "set-password": accounts.Change(password=password)}[args.action]
        await accounts.change_user(db, await told(), args.name, change)
        return f"user {args.name} enabled" if args.action == "enable" else f"user {args.name}: {args.action} done; her sessions have ended"

    return await _accounts(settings, work)


async def _apikeys_change(settings: config.Settings, args: argparse.Namespace) -> int:
    from hub import accounts
    from hub.store import users as stored

    async def work(db: Any, told: Callable[[], Awaitable[Any]]) -> str:
        if args.action == "list":
            async with db() as s:
                return "\n".join(f"{key.name:<32} {key.created_at.isoformat()}" for key in await stored.all_api_keys(s))
        await accounts.revoke_api_key(db, await told(), args.name)
        return f"API key {args.name!r} revoked"

    return await _accounts(settings, work)


async def _apikeys_add(settings: config.Settings, name: str) -> int:
    from hub.auth import AuthError, add_api_key

    engine, db = await _db_session(settings)
    try:
        async with db() as s, s.begin():
            key = await add_api_key(s, name)
    except AuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(key)
    print(f"(API key {name!r}: shown once; send it as X-Api-Key)", file=sys.stderr)
    return 0


async def _canned_add(settings: config.Settings, args: argparse.Namespace) -> int:
    from hub.web.canned import save, validated
    from hub.web.errors import ApiError

    engine, db = await _db_session(settings)
    try:
        await save(db, validated({"shortcut": args.shortcut, "text": args.text, "title": args.title}, "cli"))
    except ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"canned response /{args.shortcut.lower()} added")
    return 0


async def _deadletter(settings: config.Settings, limit: int, as_json: bool) -> int:
    from hub.store import workers
    from hub.store.views import iso

    engine, db = await _db_session(settings)
    try:
        async with db() as s:
            rows = await workers.latest_dead_letters(s, limit)
    finally:
        await engine.dispose()
    if as_json:
        print(json.dumps([{"id": r.id, "at": iso(r.at), "topic": r.source_topic, "partition": r.partition, "offset": r.offset, "processor": r.processor, "reason": r.reason, "payload": r.payload} for r in rows], ensure_ascii=False, indent=1))
        return 0
    if not rows:
        print("no dead letters")
    for r in rows:
        print(f"{iso(r.at)}  {r.processor:<10} {r.source_topic}[{r.partition}]@{r.offset}  {r.reason.splitlines()[0][:160]}")
    return 0


async def _archived_values(settings: config.Settings, log_ends: dict[Any, int]) -> list[bytes] | None:
    """conversation.events from the archive, if it holds more than the log (an embedded
    broker refilled from a part, or not at all); None when the log has it all."""
    from hub import topics
    from hub.store import archive

    engine, db = await _db_session(settings)
    try:
        async with db() as s:
            kept = await archive.archived_count(s, topics.CONVERSATIONS.name)
            if kept <= sum(log_ends.values()):
                return None
            values = [value for value in await archive.archived_values(s, topics.CONVERSATIONS.name) if value]
    finally:
        await engine.dispose()
    print(f"(the log lacks history the archive has: reading {kept} archived records)", file=sys.stderr)
    return values


async def _logged_values(settings: config.Settings) -> Any:
    """Every record of conversation.events, partition by partition, from the start (from the
    archive, when the log lacks history it has)."""
    from aiokafka import AIOKafkaConsumer

    from hub import topics
    from hub.bus import assign_all, ensure_topics

    await ensure_topics(settings)  # a new embedded broker has none yet; its log is empty then
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=settings.fetch_max_wait_ms)
    await consumer.start()
    try:
        parts = await assign_all(consumer, [topics.CONVERSATIONS.name], from_end=False)
        ends = await consumer.end_offsets(parts)
        archived = await _archived_values(settings, ends) if settings.archive else None
        if archived is not None:
            for value in archived:
                yield value
            return
        while any([await consumer.position(tp) < ends[tp] for tp in parts]):
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batch.values():
                for rec in records:
                    yield rec.value
    finally:
        await consumer.stop()


async def _read_log(settings: config.Settings) -> Any:
    """The events of `_logged_values`, what does not decode skipped."""
    from hub import events as ev

    async for value in _logged_values(settings):
        try:
            yield ev.from_json(value)
        except ev.UnknownEvent:
            continue


async def _replay_sla(settings: config.Settings, as_json: bool) -> int:
    """The configured policies over the logged history, the clock being each event's time;
    clocks still running are judged at this moment."""
    from hub.domain import complaints, sla
    from hub.events import utcnow

    if not settings.kafka_bootstrap:
        print("error: replay reads the event log: set HUB_KAFKA_BOOTSTRAP", file=sys.stderr)
        return 2
    if not settings.sla_policies:
        print("error: no [[sla]] policies in HUB_CONFIG to replay", file=sys.stderr)
        return 2
    # in log order: one conversation's events are on one partition, in order, and each
    # conversation's clocks only see that conversation's events
    history = [e async for e in _read_log(settings)]
    outcomes = sla.replay(history, tuple(settings.sla_policies), settings.calendars,
                          complaints.Detector(settings.complaint_terms or complaints.DEFAULT_TERMS), utcnow())
    if as_json:
        print(json.dumps({"summary": sla.summarise(outcomes), "outcomes": outcomes}, ensure_ascii=False, indent=1))
        return 0
    summary = sla.summarise(outcomes)
    if not summary:
        print(f"no clock started under the current policies ({len(history)} events read)")
    for policy, per_clock in summary.items():
        for clock, counts in per_clock.items():
            print(f"{policy:<16} {clock:<15} started {counts['started']:>5}  met {counts['met']:>5}  warned {counts['warned']:>5}  breached {counts['breached']:>5}")
    for o in outcomes:
        if o["kind"] == "breached":
            print(f"breached  {o['policy']}  {o['clock']}  conversation {o['conversation_id']}  due {o['due_at']}")
    return 0


async def _replay(settings: config.Settings) -> int:
    from hub.store import projection

    if not settings.kafka_bootstrap:
        print("error: replay reads the event log: set HUB_KAFKA_BOOTSTRAP", file=sys.stderr)
        return 2
    engine, db = await _db_session(settings)
    applied = 0
    batch: list[Any] = []
    try:
        async for event in _read_log(settings):
            batch.append(event)
            if len(batch) >= 500:
                async with db() as s, s.begin():
                    await projection.apply(s, batch)
                applied, batch = applied + len(batch), []
        if batch:
            async with db() as s, s.begin():
                await projection.apply(s, batch)
            applied += len(batch)
    finally:
        await engine.dispose()
    print(f"replayed {applied} events into the read model")
    return 0


async def _prepare(settings: config.Settings, refill: bool) -> tuple[Any, Any]:
    """The log this process reads, and (for a worker after a refill) what its history holds."""
    from hub.archive import prepare_log

    state = await prepare_log(settings, refill=refill)
    if refill or not state.refilled:
        return state, None
    from hub.store.db import make_engine, sessionmaker
    from processors.catchup import logged_history

    engine = make_engine(settings.database_url)
    try:
        return state, await logged_history(sessionmaker(engine))
    finally:
        await engine.dispose()


def _refill(settings: config.Settings) -> int:
    from hub.archive import LogNotReady, RefillFailed

    if not _broker_ready(settings, "refill"):
        return 2
    try:
        state, _ = asyncio.run(_prepare(settings, refill=True))
    except (LogNotReady, RefillFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if state.refilled:
        print(f"log {state.log_id}: refilled {state.records} records from the archive of log {state.refilled_from} "
              f"in {state.seconds:.1f} s, {state.republished} written-ahead inputs published again")
    else:
        print(f"log {state.log_id}" + (f": {state.republished} written-ahead inputs published" if state.republished else ""))
    return 0


def _broker_ready(settings: config.Settings, role: str) -> bool:
    """A role on its own needs a broker named; its topics are created if missing."""
    from hub.bus import ensure_topics

    if not settings.kafka_bootstrap:
        print(f"error: the {role} role needs HUB_KAFKA_BOOTSTRAP (or use `contacthub run`)", file=sys.stderr)
        return False
    asyncio.run(ensure_topics(settings))
    return True


def _serve_web(settings: config.Settings) -> int:
    from aiohttp import web

    from hub.web.app import create_app

    if not _broker_ready(settings, "web"):
        return 2
    web.run_app(create_app(settings), host=settings.http_host, port=settings.http_port, print=None, access_log=None, handle_signals=True)
    return 0


def _serve_worker(settings: config.Settings) -> int:
    import faust

    if not _broker_ready(settings, "worker"):
        return 2
    from hub.archive import LogNotReady
    from processors.app import build_app

    try:
        state, logged = asyncio.run(_prepare(settings, refill=False))
    except LogNotReady as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = build_app(settings, log=state, logged=logged).app

    class Worker(faust.Worker):
        def _setup_logging(self) -> None:
            # faust would install its own text format; keep the hub's JSON lines
            logs.setup("worker")
            logging.getLogger("faust").setLevel(os.environ.get("HUB_FAUST_LOG_LEVEL", "WARNING").upper())

    Worker(app, quiet=True).execute_from_commandline()
    return 0


#: how long a stopping projector process may take to read its partitions to their ends
PROJECTOR_DRAIN_SECONDS = 15.0


def _serve_projector(settings: config.Settings) -> int:
    """The read model's writer as a process of its own (HUB_PROJECTOR=process): the worker
    then starts no projector thread. Stops on SIGTERM or SIGINT."""
    if not settings.projector_process:
        print("error: set HUB_PROJECTOR=process, else the worker projects too", file=sys.stderr)
        return 2
    if not _broker_ready(settings, "projector"):
        return 2
    from hub.archive import LogNotReady
    from processors import projector

    async def serve() -> None:
        from hub.archive import prepare_log

        state = await prepare_log(settings, refill=False)
        stopping = asyncio.Event()
        task = asyncio.ensure_future(projector.serve(settings, state.log_id, stopping))
        loop = asyncio.get_running_loop()

        def stop() -> None:
            # read to the ends first: `run` stops the projector after the roles that write
            # the log, and the embedded broker's log dies with it, unarchived records too
            stopping.set()
            loop.call_later(PROJECTOR_DRAIN_SECONDS, task.cancel)

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(serve())
    except LogNotReady as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _serve_broker(args: argparse.Namespace) -> int:
    from hub.broker import EmbeddedBroker

    broker = EmbeddedBroker(port=args.port, host=args.host)
    broker.start()
    print(f"embedded broker (memory only) on {broker.bootstrap}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: broker.stop())
    try:
        return broker.process.wait() if broker.process else 1
    except KeyboardInterrupt:
        broker.stop()
        return 0


def _terminate(procs: Sequence[subprocess.Popen[bytes]], wait: float) -> None:
    """SIGTERM to each that still runs; SIGKILL to any still running `wait` s later."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.time() + wait
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()


def _run_all(settings: config.Settings) -> int:
    """Broker (if embedded), worker, projector and web as child processes; a role that ends is started
    again (hub/supervise.py); a signal stops them all."""
    from hub.broker import EmbeddedBroker
    from hub.bus import ensure_topics

    broker = None
    # One machine's cores are shared by every role: on a thread of the worker, beside the
    # faust loop, the projector's transactions took several times longer under load and
    # the 100/s p99 was ~3x that of a projector process (performance.md). An explicit
    # HUB_PROJECTOR wins.
    env = {**config.RUN_DEFAULTS, **os.environ}
    if not settings.kafka_bootstrap:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        broker = EmbeddedBroker(log_file=settings.var_dir / "broker.log")
        broker.start()
        asyncio.run(broker.wait_ready())
        env["HUB_KAFKA_BOOTSTRAP"] = broker.bootstrap
    env.setdefault("HUB_SECRET_KEY", settings.secret_key)
    settings = config.load(env)
    asyncio.run(ensure_topics(settings))
    from hub.archive import LogNotReady, RefillFailed

    try:
        # before any role reads the log: an empty embedded log gets the archive back first
        asyncio.run(_prepare(settings, refill=True))
    except (LogNotReady, RefillFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if broker:
            broker.stop()
        return 1
    password = asyncio.run(_ensure_admin(settings))
    from hub.supervise import Backoff

    def start(role: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "hub.cli", role], env=env)

    def write_pids() -> None:
        # what a supervisor (or a test of SIGKILL) needs to stop every process of this run
        pids = {"run": os.getpid(), **({"broker": broker.process.pid} if broker and broker.process else {}),
                **{role: proc.pid for role, proc in children.items()}}
        (settings.var_dir / "run.pids").write_text(json.dumps(pids))

    children = {role: start(role) for role in ("worker", "web", *(("projector",) if settings.projector_process else ()))}
    started_at = {role: time.monotonic() for role in children}
    backoff = {role: Backoff() for role in children}
    restart_at: dict[str, float] = {}
    write_pids()
    print(f"agent UI:   {settings.base_url}/", flush=True)
    print(f"demo chat:  {settings.base_url}/chat", flush=True)
    if password:
        print(f"first admin login: admin / {password}  (also in {settings.var_dir / 'admin-password'})", flush=True)
    else:
        print(f"admin login: admin, password in {settings.var_dir / 'admin-password'}", flush=True)
    if broker:
        kept = "the database keeps its archive" if settings.archive else "HUB_ARCHIVE is off: the log is gone when it stops"
        print(f"embedded broker on {broker.bootstrap} (memory only; {kept})", flush=True)
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            now = time.monotonic()
            for role, proc in children.items():
                if role in restart_at:
                    if now >= restart_at[role]:
                        del restart_at[role]
                        children[role], started_at[role] = start(role), now
                        write_pids()
                elif proc.poll() is not None:
                    wait = backoff[role].after_exit(now - started_at[role])
                    restart_at[role] = now + wait
                    print(f"{role} exited with {proc.returncode}; starting it again in {wait:.0f} s", file=sys.stderr, flush=True)
            time.sleep(0.2)
    finally:
        # The roles that write the log first, then the projector (and archiver), which reads
        # it to its end before it exits: the embedded broker's log dies with it.
        _terminate([proc for role, proc in children.items() if role != "projector"], 10.0)
        _terminate([proc for role, proc in children.items() if role == "projector"], PROJECTOR_DRAIN_SECONDS + 5)
        if broker:
            broker.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = config.load()
        if args.command != "broker":
            from channels import registry

            registry.check(settings)  # the channel names a queue gives
    except config.ConfigError as exc:
        # before logging starts: a mistake reads as this one line, nothing else
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logs.setup(args.command)
    if args.command in ("web", "worker", "projector"):
        from hub.profiling import start_if_asked

        start_if_asked(args.command)
    if args.command != "broker":
        from hub.store.db import migrate_sync

        migrate_sync(settings.database_url)
    if args.command == "migrate":
        print("database is at the latest migration")
        return 0
    if args.command == "run":
        return _run_all(settings)
    if args.command == "web":
        return _serve_web(settings)
    if args.command == "worker":
        return _serve_worker(settings)
    if args.command == "projector":
        return _serve_projector(settings)
    if args.command == "broker":
        return _serve_broker(args)
    if args.command == "refill":
        return _refill(settings)
    if args.command == "replay":
        return asyncio.run(_replay_sla(settings, args.json) if args.sla else _replay(settings))
    if args.command == "deadletter":
        return asyncio.run(_deadletter(settings, args.limit, args.json))
    if args.command == "users":
        return asyncio.run(_users_add(settings, args) if args.action == "add" else _users_change(settings, args))
    if args.command == "apikeys":
        return asyncio.run(_apikeys_add(settings, args.name) if args.action == "add" else _apikeys_change(settings, args))
    if args.command == "canned":
        return asyncio.run(_canned_add(settings, args))
    return 2


if __name__ == "__main__":
    sys.exit(main())
