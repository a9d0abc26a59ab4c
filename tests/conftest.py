"""Test layers and the fixtures every package shares.

Every test has exactly one layer, a marker registered in pyproject.toml:

- ``browser``: drives Chromium through Playwright (``pytestmark = pytest.mark.browser``);
- ``integration``: starts a process or a server or opens a network socket: the ``hub``
  fixture, ``Hub``/``configured_hub``/``start_web``, ``EmbeddedBroker``, SMTP/IMAP servers,
  fake Twilio/Telegram servers, PostgreSQL, subprocesses (``pytestmark = pytest.mark.integration``);
- ``unit``: everything else, given by the hook below to every test without a layer. In-process
  SQLite is fine. A unit test that connects or binds an IP socket or starts a subprocess fails.

``make test-fast`` runs ``-m unit``; ``make test`` runs all three, unit first.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest
import urllib3.util.connection  # noqa: F401 - its import binds ::1 to probe IPv6: here, before a unit test's guard is on

from tests.support import Hub

LAYERS = ("unit", "integration", "browser")

# Consumer groups with 2 s sessions in the hubs the tests start: the embedded broker assigns a
# new group after half a session, so a hub is ready in ~6 s instead of ~12 s with the default
# 6 s (docs/testing.md). `make bench` runs with the default.
os.environ.setdefault("HUB_GROUP_SESSION_SECONDS", "2")

# TEMPORARY: being reshaped in parallel; removed when merged. These modules start hubs but
# cannot carry their own `pytestmark` yet; the lead moves the marker into them after merging.
_ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Gives `unit` to every test without a layer, refuses a test with two, and runs the
    layers in the order unit, integration, browser (stable: a module keeps its own order)."""
    doubled: list[str] = []
    for item in items:
        layers = {m.name for m in item.iter_markers() if m.name in LAYERS}
        if not layers:
            item.add_marker(pytest.mark.unit)
        elif len(layers) > 1:
            doubled.append(f"{item.nodeid}: {' + '.join(sorted(layers))}")
    if doubled:
        raise pytest.UsageError("a test has more than one layer (unit, integration, browser); give it one:\n  " + "\n  ".join(doubled))
    items.sort(key=lambda item: LAYERS.index(layer_of(item)))


def layer_of(item: pytest.Item) -> str:
    return next(m.name for m in item.iter_markers() if m.name in LAYERS)


# --- unit means no process and no network socket ---------------------------------------

class UnitLayerViolation(RuntimeError):
    """Raised (and remembered, in case the code under test swallows it) when a unit test
    opens an IP socket or starts a process."""


_violations: list[str] = []
_saved: dict[str, Any] = {}


def _refuse(what: str) -> UnitLayerViolation:
    message = f"a unit test {what}: mark the module integration (pytestmark = pytest.mark.integration)"
    _violations.append(message)
    return UnitLayerViolation(message)


def _guarded_socket_method(name: str) -> Any:
    original = getattr(socket.socket, name)

    def guarded(self: socket.socket, address: Any, *args: Any, **kwargs: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            verb = "bound a socket to" if name == "bind" else "opened a socket to"
            raise _refuse(f"{verb} {address!r}")
        return original(self, address, *args, **kwargs)  # AF_UNIX: asyncio's self-pipe and the like

    return guarded


class _RefusedPopen(subprocess.Popen):  # type: ignore[type-arg]
    def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
        raise _refuse(f"started a process {args!r}")


def _guard_on() -> None:
    _violations.clear()
    for name in ("connect", "connect_ex", "bind"):
        _saved[name] = getattr(socket.socket, name)
        setattr(socket.socket, name, _guarded_socket_method(name))
    _saved["Popen"] = subprocess.Popen
    subprocess.Popen = _RefusedPopen  # type: ignore[misc]


def _guard_off() -> None:
    for name in ("connect", "connect_ex", "bind"):
        if name in _saved:
            setattr(socket.socket, name, _saved.pop(name))
    if "Popen" in _saved:
        subprocess.Popen = _saved.pop("Popen")  # type: ignore[misc]


def _checked(item: pytest.Item) -> Iterator[None]:
    """Runs a phase (setup, call, teardown) of a test; fails it when a unit test broke the
    rule even if the code under test caught the exception (a retry loop, `except Exception`)."""
    try:
        result = yield
    except BaseException:
        _violations.clear()  # the phase failed already, the violation among its errors
        raise
    if _violations and layer_of(item) == "unit":
        found = list(dict.fromkeys(_violations))
        _violations.clear()
        pytest.fail(f"{item.nodeid}: " + "; ".join(found), pytrace=False)
    return result


# The guard goes on before the test's fixtures are set up (so a unit test cannot start a hub
# through a wider-scoped fixture either) and comes off after they are torn down.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    if layer_of(item) == "unit":
        _guard_on()
    result = yield from _checked(item)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield from _checked(item)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    try:
        result = yield from _checked(item)
        return result
    finally:
        _guard_off()


# --- shared fixtures -----------------------------------------------------------------------

@pytest.fixture(scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    """One real hub on SQLite for a test module (started only for the modules that ask)."""
    h = Hub(Path(tmp_path_factory.mktemp("hub")))
    try:
        await h.start()
        yield h
    finally:
        h.stop()
