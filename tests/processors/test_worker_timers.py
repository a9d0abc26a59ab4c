"""A worker timer that raises logs it and runs again next period: faust ends the whole app
on a timer's exception (a heartbeat row past SQLite's busy timeout under load did)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from processors.app import survives


async def test_a_timer_that_raises_is_logged_and_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    async def beat() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("INSERT INTO workers", {}, Exception("database is locked"))

    timer = survives("heartbeat", beat)
    with caplog.at_level("WARNING", logger="hub.worker"):
        await timer()  # raised inside: not out of the timer
        await timer()
    assert len(calls) == 2 and timer.__name__ == "heartbeat"
    [record] = [r for r in caplog.records if r.getMessage().startswith("worker timer failed")]
    assert record.timer == "heartbeat" and "database is locked" in caplog.text
