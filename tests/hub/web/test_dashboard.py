"""GET /api/v1/dashboard over a read model whose counts the test wrote itself; presence from
real live sockets (a watcher's socket does not make a manager available)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from hub import events as ev
from tests.support import Hub, eventually, project

pytestmark = pytest.mark.integration


def opened(n: int, ago: float, queue: str, agent: str | None = None) -> list[ev.Event]:
    at = ev.utcnow() - timedelta(seconds=ago)
    common = {"contact_id": f"dash-k{n}", "conversation_id": f"dash-c{n}"}
    return [
        ev.ConversationOpened(at=at, channel="api", address=f"dash-a{n}", name=f"Customer {n}", **common),
        ev.MessageReceived(id=f"dash-in{n}", at=at, channel="api", address=f"dash-a{n}", text="hello", **common),
        ev.ConversationAssigned(at=at, queue=queue, agent=agent, **common),
    ]


def common(n: int) -> dict[str, str]:
    return {"contact_id": f"dash-k{n}", "conversation_id": f"dash-c{n}"}


async def test_dashboard_counts_queues_agents_and_complaints_for_leads_only(hub: Hub) -> None:
    hub.cli("users", "add", "lena", "--role", "lead", "--password", "lena-pw", "--capacity", "3")
    events = [
        *opened(1, 120, "support"),                      # waiting, nobody holds it
        *opened(2, 30, "support", "alice"),              # waiting, alice holds it
        *opened(3, 500, "support", "alice"),             # resolved: not counted
        ev.ComplaintDetected(reason="rude", **common(3)),
        ev.ConversationResolved(by="alice", **common(3)),
        *opened(4, 60, "billing"),                       # a queue only the data names
        ev.ComplaintDetected(reason="charged twice", **common(4)),
        *opened(5, 900, "support", "alice"),             # pending: alice's load, not waiting in the queue
        ev.ConversationMarkedPending(by="alice", **common(5)),
        # a complaint only 5 minutes ago, in a conversation of 15: its age is the complaint's
        ev.ComplaintDetected(at=ev.utcnow() - timedelta(seconds=300), reason="late", **common(5)),
        ev.ComplaintDetected(reason="late again", **common(5)),  # a second one moves nothing
    ]
    await project(hub.db_url, events)

    async with aiohttp.ClientSession() as http:
        agent = await hub.login(http)
        lead = await hub.login(http, "lena", "lena-pw")
        manager = await hub.login(http, "maria", "maria-pw")
        async with http.get(f"{hub.url}/api/v1/dashboard") as r:
            assert r.status == 401
        async with http.get(f"{hub.url}/api/v1/dashboard", headers=agent) as r:
            assert r.status == 403
        async with http.get(f"{hub.url}/api/v1/dashboard", headers=lead) as r:
            assert r.status == 200, await r.text()
            board = await r.json()

        queues = {q["queue"]: q for q in board["queues"]}
        assert [q["queue"] for q in board["queues"]] == ["support", "billing"]  # configured first
        assert (queues["support"]["open"], queues["support"]["unassigned"], queues["support"]["waiting"]) == (2, 1, 2)
        assert 120 <= queues["support"]["longest_wait_seconds"] < 600
        assert (queues["billing"]["open"], queues["billing"]["unassigned"], queues["billing"]["waiting"]) == (1, 1, 1)
        assert 60 <= queues["billing"]["longest_wait_seconds"] < queues["support"]["longest_wait_seconds"]
        agents = {a["username"]: a for a in board["agents"]}
        assert (agents["alice"]["load"], agents["alice"]["capacity"], agents["lena"]["load"], agents["lena"]["capacity"]) == (2, 5, 0, 3)
        assert board["complaints_total"] == 2
        assert [(c["conversation_id"], c["contact"], c["status"]) for c in board["complaints"]] == [
            ("dash-c5", "Customer 5", "pending"), ("dash-c4", "Customer 4", "open")]  # oldest complaint first
        assert 300 <= board["complaints"][0]["age_seconds"] < 900
        assert board["agents_online"] == 0

        # alice opens her live socket: she is online; maria watching with presence=0 is not.
        alice_ws = await http.ws_connect(f"{hub.url}/api/v1/live?token={agent['Authorization'][7:]}")
        maria_ws = await http.ws_connect(f"{hub.url}/api/v1/live?presence=0&token={manager['Authorization'][7:]}")
        for ws in (alice_ws, maria_ws):
            assert (await ws.receive_json())["type"] == "hello"

        async def online() -> Any:
            async with http.get(f"{hub.url}/api/v1/dashboard", headers=manager) as r:
                got = await r.json()
            return {a["username"] for a in got["agents"] if a["online"]} or None

        assert await eventually(online) == {"alice"}
        await alice_ws.close()

        async def offline() -> Any:
            names = await online()
            return "nobody" if names is None else None

        await eventually(offline)
        await maria_ws.close()
