"""The unit layer's guard (tests/conftest.py): no IP socket, no process; AF_UNIX and the
event loop's self-pipe still work."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import UnitLayerViolation, _violations


@contextlib.contextmanager
def refused(match: str = "mark the module integration") -> Iterator[None]:
    """Expects the guard's refusal; these tests trip it on purpose, so it is forgotten after
    (the guard would fail the test otherwise, as it does when code swallows the refusal)."""
    with pytest.raises(UnitLayerViolation, match=match):
        yield
    _violations.clear()


def test_a_unit_test_cannot_connect_or_bind_an_ip_socket() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        with refused(r"opened a socket to \('127.0.0.1', 9\): mark the module integration"):
            s.connect(("127.0.0.1", 9))
        with refused("opened a socket to"):
            s.connect_ex(("127.0.0.1", 9))
        with refused("bound a socket to"):
            s.bind(("127.0.0.1", 0))


async def test_a_unit_test_cannot_reach_a_server_through_asyncio() -> None:
    with refused():
        await asyncio.open_connection("127.0.0.1", 9)


def test_a_unit_test_cannot_start_a_process() -> None:
    with refused("started a process"):
        subprocess.run([sys.executable, "-c", "pass"])


async def test_unix_sockets_and_the_event_loops_self_pipe_still_work(tmp_path: Path) -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"x")
        assert b.recv(1) == b"x"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(tmp_path / "s"))
    await asyncio.sleep(0)
    assert await asyncio.get_running_loop().run_in_executor(None, lambda: 2) == 2
