"""HUB_PROJECTOR=process: the read model is written by `contacthub projector`, a process of
its own, and the worker starts no projector thread (issue 15 measures both shapes)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import func, select

from hub.store.models import Message
from tests.e2e.test_reliability import chat_once, count_reaches, db_scalar
from tests.support import Hub

pytestmark = pytest.mark.integration


@pytest.fixture
async def split_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    hub = Hub(tmp_path, extra_env={"HUB_PROJECTOR": "process"})
    try:
        yield await hub.start()
    finally:
        hub.stop()


async def test_the_projector_process_writes_the_read_model_and_the_worker_does_not(split_hub: Hub) -> None:
    hub = split_hub
    assert set(hub.procs) == {"worker", "projector", "web"}
    await chat_once(hub, "p-1", "projected by a process of its own")
    await count_reaches(hub, select(func.count()).select_from(Message), 1)
    hub.kill("projector")
    await chat_once(hub, "p-2", "waits for the projector")
    await asyncio.sleep(5)  # the worker threads it, but nothing else writes the read model
    assert await db_scalar(hub, select(func.count()).select_from(Message)) == 1
    hub.spawn("projector")  # it takes up from the position it stored with its rows
    assert await count_reaches(hub, select(func.count()).select_from(Message), 2) == 2
    assert '"consumer assigned"' in hub.logs("projector") and '"consumer": "projector"' in hub.logs("projector")
    assert '"consumer": "projector"' not in hub.logs("worker")
