"""Starts a real hub for tests: Tansu over TCP, the worker and web roles as processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp

from hub.broker import EmbeddedBroker, free_port
from hub.store import db as store_db
from tests.support.postgres import POSTGRES_URL, reset_postgres
from tests.support.waiting import eventually

#: For a hub whose worker or broker a test kills or restarts: the production sessions (6 s).
#: The tests' 2 s sessions (tests/conftest.py) start hubs twice as fast, but a rejoin after a
#: SIGKILL or a broker restart with them met faust-streaming's stalled-partition bug
#: (design.md's traps) in full runs.
PRODUCTION_SESSIONS: dict[str, str] = {"HUB_GROUP_SESSION_SECONDS": "6"}


class Hub:
    def __init__(self, tmp: Path, database: str = "sqlite", extra_env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.database = database
        self.port = free_port()
        self.broker = EmbeddedBroker(log_file=tmp / "broker.log")
        self.db_url = POSTGRES_URL if database == "postgres" else f"sqlite+aiosqlite:///{tmp}/hub.db"
        self.env = {
            **os.environ,
            "HUB_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            "HUB_DATABASE_URL": self.db_url,
            "HUB_HTTP_PORT": str(self.port),
            "HUB_VAR_DIR": str(tmp / "var"),
            "HUB_SECRET_KEY": uuid.uuid4().hex,
            "HUB_APP_ID": f"hub-test-{uuid.uuid4().hex[:8]}",
            "PYTHONUNBUFFERED": "1",
            # roles started one by one mark the log themselves; tests/support/run.py runs
            # the hub as `contacthub run` does, archive on, for the restart tests
            "HUB_ARCHIVE": "0",
            **(extra_env or {}),
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.url = f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "hub.cli", *args], env=self.env, capture_output=True, text=True, cwd=self.tmp, timeout=120)
        if check and done.returncode:
            raise RuntimeError(f"contacthub {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
        return done

    def spawn(self, role: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{role}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "hub.cli", role], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        self.procs[role] = proc
        return proc

    async def start(self) -> "Hub":
        """The hub's roles, ready; on a failure to start, whatever had started is stopped
        (a caller whose `start()` raised has no hub to stop, and its processes would be left
        running, eating the CPU of every test after it)."""
        try:
            return await self._start()
        except BaseException:
            self.stop()
            raise

    async def _start(self) -> "Hub":
        if self.database == "postgres":
            await reset_postgres(self.db_url)
        self.broker.start()
        # the schema and the users in this process, as `contacthub migrate` and `users add`
        # write them: each command is a Python process of ~1.5 s here, and ~60 hubs start in
        # X
        # the commands themselves)
        await store_db.migrate(self.db_url)
        await self.broker.wait_ready()
        if self.env["HUB_ARCHIVE"].lower() not in ("0", "off", "false", "no"):
            self.cli("refill")  # as `contacthub run` does first: a worker refuses a log nobody marked
        self.spawn("worker")
        if self.env.get("HUB_PROJECTOR") == "process":
            self.spawn("projector")
        self.spawn("web")
        await asyncio.gather(self.add_users(("alice", "agent", "alice-pw"), ("maria", "manager", "maria-pw")), self.wait_ready())
        return self

    async def add_users(self, *users: tuple[str, str, str]) -> None:
        """(name, role, password) users, as `contacthub users add NAME --role R --password P` adds them."""
        from hub.auth import add_user

        engine = store_db.make_engine(self.db_url)
        try:
            async with store_db.sessionmaker(engine)() as s, s.begin():
                for name, role, password in users:
                    await add_user(s, name, role, password, queues=[])
        finally:
            await engine.dispose()

    async def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        last: Any = None
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                for role, proc in self.procs.items():
                    if proc.poll() is not None:
                        raise RuntimeError(f"{role} exited {proc.returncode}:\n{self.logs(role)}")
                try:
                    async with http.get(f"{self.url}/readyz") as r:
                        last = await r.json()
                        if r.status == 200:
                            return
                except aiohttp.ClientError as exc:
                    last = exc
                await asyncio.sleep(0.3)
        raise TimeoutError(f"hub not ready: {last}\n{self.logs('worker')[-3000:]}\n{self.logs('web')[-3000:]}")

    def logs(self, role: str) -> str:
        path = self.tmp / f"{role}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, role: str) -> None:
        proc = self.procs.get(role)
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def respawn_ended(self, role: str) -> bool:
        """Starts `role` again if it ended on its own, as `contacthub run` does (hub/supervise.py)."""
        proc = self.procs.get(role)
        if proc is None or proc.poll() is None:
            return False
        self.spawn(role)
        return True

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.broker.stop()

    async def login(self, http: aiohttp.ClientSession, username: str = "alice", password: str = "alice-pw") -> dict[str, str]:
        async with http.post(f"{self.url}/api/v1/login", json={"username": username, "password": password}) as r:
            assert r.status == 200, await r.text()
            token = (await r.json())["token"]
        return {"Authorization": f"Bearer {token}"}


async def start_web(hub: Hub, name: str = "web2") -> str:
    """Another web process on the hub's broker and database (hub.stop() stops it too); its URL
    once it answers /readyz."""
    port = free_port()
    log = open(hub.tmp / f"{name}.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "web"], env={**hub.env, "HUB_HTTP_PORT": str(port)},
                            stdout=log, stderr=subprocess.STDOUT, cwd=hub.tmp)
    hub.procs[name] = proc
    url = f"http://127.0.0.1:{port}"

    async def ready() -> bool:
        assert proc.poll() is None, (hub.tmp / f"{name}.log").read_text(errors="replace")[-3000:]
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{url}/readyz") as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False

    await eventually(ready, timeout=90, interval=0.3)
    return url


@contextlib.asynccontextmanager
async def configured_hub(tmp: Path, config: str, database: str = "sqlite", extra_env: dict[str, str] | None = None) -> AsyncIterator[Hub]:
    """A started hub reading `config` (the TOML of HUB_CONFIG: queues, SLA, ladders)."""
    (tmp / "hub.toml").write_text(config)
    h = Hub(tmp, database, extra_env={"HUB_CONFIG": str(tmp / "hub.toml"), **(extra_env or {})})
    try:
        await h.start()
        yield h
    finally:
        h.stop()


async def project(db_url: str, events: Any) -> None:
    """Writes events into a hub's read model as its projector would, for tests that need
    a known history (times in the past, many conversations) without sending it."""
    from hub.store import db, projection

    engine = db.make_engine(db_url)
    try:
        async with db.sessionmaker(engine)() as s, s.begin():
            await projection.apply(s, events)
    finally:
        await engine.dispose()


class Restarts:
    """While open, starts again every role of `roles` that ended on its own (the worker's
    stall watch ends it: processors/stall.py) and counts them. `lock`: held by whoever kills
    roles on purpose, so a kill in progress is not taken for an end."""

    def __init__(self, hub: Hub, roles: tuple[str, ...] = ("worker",), lock: asyncio.Lock | None = None) -> None:
        self.hub = hub
        self.roles = roles
        self.lock = lock or asyncio.Lock()
        self.count = 0
        self._task: asyncio.Future[None] | None = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            async with self.lock:
                self.count += sum(self.hub.respawn_ended(role) for role in self.roles)

    def start(self) -> "Restarts":
        self._task = asyncio.ensure_future(self._watch())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aenter__(self) -> "Restarts":
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def conversation_with(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], text: str, *, channel: str = "",
                            contains: bool = False) -> Any:
    """The detail (through the API) of the conversation, of `channel` if given, holding a
    message whose text is `text` (or contains it); None while there is none."""
    query = f"?channel={channel}" if channel else ""
    async with http.get(f"{hub.url}/api/v1/conversations{query}", headers=auth) as r:
        convs = (await r.json())["conversations"]
    for c in convs:
        async with http.get(f"{hub.url}/api/v1/conversations/{c['id']}", headers=auth) as r:
            detail = await r.json()
        if any((text in m["text"]) if contains else (m["text"] == text) for m in detail["messages"]):
            return detail
    return None
