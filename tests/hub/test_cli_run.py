"""`contacthub run` (what `make run` starts): ready with nothing configured, prints the URLs
and the first admin login, stops every process it started on SIGTERM, and starts again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hub.broker import free_port

pytestmark = pytest.mark.integration


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    kids = [int(p) for p in out.split()]
    return kids + [g for k in kids for g in children_of(k)]


def start(tmp: Path, port: int, **hub_env: str) -> tuple[subprocess.Popen[str], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_HTTP_PORT": str(port), "PYTHONUNBUFFERED": "1", **hub_env})
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "run"], cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        assert proc.poll() is None, "contacthub run exited early"
        time.sleep(0.5)
    else:
        proc.kill()
        raise AssertionError("not ready within 60 s")
    os.set_blocking(proc.stdout.fileno(), False)  # type: ignore[union-attr]
    lines = (proc.stdout.read() or "").splitlines()  # type: ignore[union-attr]
    return proc, lines


def stop(proc: subprocess.Popen[str]) -> None:
    kids = children_of(proc.pid)
    assert kids, "run should have started the broker, worker, projector and web"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    time.sleep(0.5)
    alive = [k for k in kids if Path(f"/proc/{k}").exists() and "zombie" not in Path(f"/proc/{k}/status").read_text().lower()]
    assert alive == [], f"left running: {alive}"


def test_run_starts_ready_prints_login_and_stops_everything(tmp_path: Path) -> None:
    port = free_port()
    proc, lines = start(tmp_path, port)
    try:
        text = "\n".join(lines)
        assert f"http://127.0.0.1:{port}/" in text and "/chat" in text
        password = (tmp_path / "var" / "admin-password").read_text().strip()
        assert f"admin / {password}" in text
        assert oct((tmp_path / "var" / "admin-password").stat().st_mode & 0o777) == "0o600"
        # the read model's writer is a process of its own unless HUB_PROJECTOR says otherwise
        assert set(json.loads((tmp_path / "var" / "run.pids").read_text())) == {"run", "broker", "worker", "projector", "web"}
    finally:
        stop(proc)

    proc, lines = start(tmp_path, port, HUB_PROJECTOR="thread")  # a later start: ready again, no new password
    try:
        assert password not in "\n".join(lines)
        assert (tmp_path / "var" / "admin-password").read_text().strip() == password
        assert "projector" not in json.loads((tmp_path / "var" / "run.pids").read_text())  # the worker projects
    finally:
        stop(proc)


def test_run_starts_a_role_again_that_ended_instead_of_stopping(tmp_path: Path) -> None:
    """A worker that ends (a crash, or its stall watch ending it: processors/stall.py) is
    started again; the new one takes the partitions and says it is ready."""
    import sqlite3

    port = free_port()
    proc, _ = start(tmp_path, port)
    try:
        pids = json.loads((tmp_path / "var" / "run.pids").read_text())
        os.kill(pids["worker"], signal.SIGKILL)
        deadline = time.monotonic() + 90
        ready_again = False
        while time.monotonic() < deadline and not ready_again:
            time.sleep(0.5)
            assert proc.poll() is None, "contacthub run stopped when its worker ended"
            now = json.loads((tmp_path / "var" / "run.pids").read_text())
            if now["worker"] == pids["worker"]:
                continue
            with sqlite3.connect(tmp_path / "var" / "hub.db") as db:
                rows = db.execute("SELECT ready FROM workers WHERE id LIKE ?", (f"%-{now['worker']}",)).fetchall()
            ready_again = rows == [(1,)]
        assert ready_again, "no new worker became ready within 90 s"
        assert now["web"] == pids["web"] and now["broker"] == pids["broker"]  # only the role that ended
    finally:
        stop(proc)
