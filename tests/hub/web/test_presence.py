"""Agent presence across web processes: an agent whose live socket is on one web process is
online on the dashboard and in the assign list that another web process answers; she goes
offline when her socket closes, and within the TTL when the process holding it is killed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.events import utcnow
from hub.store.db import make_engine, sessionmaker
from hub.store.models import AgentPresence, Base
from hub.web import presence
from hub.web.presence import PresenceBeat, online_agents
from tests.support import Hub, eventually, start_web

pytestmark = pytest.mark.integration


async def _online(http: aiohttp.ClientSession, url: str, manager: dict[str, str]) -> set[str] | None:
    """Who is online, as the dashboard and the assign list agree; None while they do not (a
    row can expire between the two requests, so a poll sees them one on each side of it)."""
    async with http.get(f"{url}/api/v1/dashboard", headers=manager) as r:
        board = await r.json()
    async with http.get(f"{url}/api/v1/agents", headers=manager) as r:
        listed = await r.json()
    dashboard = {a["username"] for a in board["agents"] if a["online"]}
    assign_list = {a["username"] for a in listed["agents"] if a["online"]}
    assert board["agents_online"] == len(dashboard)
    return dashboard if dashboard == assign_list else None


async def test_a_socket_on_another_web_process_counts(hub: Hub) -> None:
    web2 = await start_web(hub)
    async with aiohttp.ClientSession() as http:
        agent = await hub.login(http)
        manager = await hub.login(http, "maria", "maria-pw")
        assert await _online(http, hub.url, manager) == set()

        ws = await http.ws_connect(f"{web2}/api/v1/live?token={agent['Authorization'][7:]}")
        assert (await ws.receive_json())["type"] == "hello"

        async def shows(expected: set[str]) -> Any:
            return True if await _online(http, hub.url, manager) == expected else None

        await eventually(lambda: shows({"alice"}))  # asked of the first web process
        await ws.close()
        await eventually(lambda: shows(set()))

        # The process holding her socket dies: nothing says goodbye, the row expires.
        ws = await http.ws_connect(f"{web2}/api/v1/live?token={agent['Authorization'][7:]}")
        assert (await ws.receive_json())["type"] == "hello"
        await eventually(lambda: shows({"alice"}))
        hub.kill("web2")
        await eventually(lambda: shows(set()), timeout=presence.TTL.total_seconds() + 30)
        await ws.close()


async def test_beat_writes_renews_and_clears_its_own_rows(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/p.db"
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    db = sessionmaker(engine)
    holding = {"alice", "ben"}
    one, two = PresenceBeat(db, lambda: holding), PresenceBeat(db, lambda: {"alice"})
    await one.write(one.online())
    await two.write(two.online())
    async with db() as s:
        assert await online_agents(s) == {"alice", "ben"}
        assert await online_agents(s, utcnow() + presence.TTL + timedelta(seconds=1)) == set()  # expired if not renewed
    holding.discard("ben")
    await one.write(one.online())
    async with db() as s:
        assert await online_agents(s) == {"alice"}
    await two.stop()  # never started: stop still clears its rows
    await one.write(set())
    async with db() as s:
        assert await online_agents(s) == set()
        assert (await s.get(AgentPresence, ("alice", two.process))) is None
    await engine.dispose()
