"""The hub as `contacthub run` starts it (embedded broker, worker, web; archive on), on one
var/ and one database across stops and starts: for the restart tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.hub import PRODUCTION_SESSIONS, Hub
from tests.support.postgres import reset_postgres


class RunningHub(Hub):
    def __init__(self, tmp: Path, database: str = "sqlite", extra_env: dict[str, str] | None = None, *, fresh: bool = True) -> None:
        """`fresh=False`: the database is the test's own (made as an older version left it)."""
        super().__init__(tmp, database, extra_env)
        self.fresh = fresh
        self.env.pop("HUB_KAFKA_BOOTSTRAP", None)  # `run` starts its own broker, as for a user
        self.env["HUB_ARCHIVE"] = (extra_env or {}).get("HUB_ARCHIVE", "1")
        # the restart tests kill and restart everything: production sessions (tests/support/hub.py)
        self.env.update({**PRODUCTION_SESSIONS, **{k: v for k, v in (extra_env or {}).items() if k in PRODUCTION_SESSIONS}})
        self.starts = 0
        self.run: subprocess.Popen[bytes] | None = None

    @property
    def var(self) -> Path:
        return Path(self.env["HUB_VAR_DIR"])

    async def start(self, ready_timeout: float = 90) -> "RunningHub":
        if self.starts == 0:
            if self.database == "postgres" and self.fresh:
                await reset_postgres(self.db_url)
            self.cli("migrate")
            self.cli("users", "add", "alice", "--role", "agent", "--password", "alice-pw")
            self.cli("users", "add", "maria", "--role", "manager", "--password", "maria-pw")
        self.starts += 1
        (self.var / "run.pids").unlink(missing_ok=True)
        out = open(self.tmp / f"run-{self.starts}.log", "ab")
        self.run = subprocess.Popen([sys.executable, "-m", "hub.cli", "run"], env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=self.tmp)
        self.procs = {"run": self.run}
        await self.wait_ready(ready_timeout)
        return self

    def logs(self, role: str = "run") -> str:
        """Everything every start of the run wrote (its roles log to its output)."""
        return "".join((self.tmp / f"run-{n}.log").read_text(errors="replace") for n in range(1, self.starts + 1)
                       if (self.tmp / f"run-{n}.log").exists())

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C or a service manager stops it; waits for every process."""
        if self.run and self.run.poll() is None:
            self.run.send_signal(signal.SIGTERM)
            try:
                self.run.wait(30)
            except subprocess.TimeoutExpired:
                self.kill_all()
        self.run = None

    def kill_all(self) -> None:
        """SIGKILL of every process of the run, the broker included (a power cut)."""
        pids = json.loads((self.var / "run.pids").read_text())
        for pid in pids.values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.run:
            self.run.wait()
        for pid in pids.values():  # the roles are not our children: wait until they are gone
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        self.run = None

    def kill_leftovers(self) -> None:
        """For a finalizer: whatever start left running is killed, whatever the test did."""
        if (self.var / "run.pids").exists():
            self.kill_all()
        elif self.run and self.run.poll() is None:
            self.run.kill()
            self.run.wait()

    async def restart(self) -> "RunningHub":
        self.stop()
        await asyncio.sleep(0.2)
        return await self.start()
