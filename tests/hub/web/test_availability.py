"""Availability that routing respects: an agent who chose away gets no new conversations,
even with her live socket open and after it reconnects; choosing online again brings her
back. Also the lists the header actions offer (agents, queues) and bad availability input."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.support import Hub, eventually

pytestmark = pytest.mark.integration


async def _hello(ws: aiohttp.ClientWebSocketResponse) -> None:
    # The socket is registered (and its availability published) before hello is sent.
    while json.loads((await ws.receive()).data)["type"] != "hello":
        pass


async def test_an_away_agent_gets_no_new_conversations_across_reconnects(hub: Hub) -> None:
    hub.cli("users", "add", "ann", "--role", "agent", "--password", "ann-pw", "--queues", "support")
    hub.cli("users", "add", "ben", "--role", "agent", "--password", "ben-pw", "--queues", "support")
    key = hub.cli("apikeys", "add", "away-shop").stdout.strip().split()[-1]
    async with aiohttp.ClientSession() as http:
        ann = await hub.login(http, "ann", "ann-pw")
        ben = await hub.login(http, "ben", "ben-pw")
        async with http.post(f"{hub.url}/api/v1/me/availability", headers=ben, json={"online": False}) as r:
            assert (r.status, await r.json()) == (200, {"online": False, "away": True})

        # ben's sockets come up first: if they made him available, routing would know
        # before it learns of ann, and he would be the least loaded agent from then on.
        ben_token = ben["Authorization"].split()[1]
        first = await http.ws_connect(f"{hub.url}/api/v1/live?token={ben_token}")
        await _hello(first)
        await first.close()
        ben_live = await http.ws_connect(f"{hub.url}/api/v1/live?token={ben_token}")
        await _hello(ben_live)
        ann_live = await http.ws_connect(f"{hub.url}/api/v1/live?token={ann['Authorization'].split()[1]}")
        await _hello(ann_live)

        async with http.get(f"{hub.url}/api/v1/me/availability", headers=ben) as r:
            assert await r.json() == {"online": False, "away": True}
        async with http.get(f"{hub.url}/api/v1/agents", headers=ann) as r:
            people = {a["username"]: a for a in (await r.json())["agents"]}
        assert (people["ann"]["online"], people["ben"]["online"], people["ben"]["away"]) == (True, False, True)
        assert people["ben"]["queues"] == ["support"] and people["ben"]["role"] == "agent"

        async def write(n: int) -> str:
            name = f"Away test customer {n}"
            async with http.post(f"{hub.url}/api/v1/inbound", headers={"X-Api-Key": key},
                                 json={"id": f"away-{n}", "from": f"away-{n}", "name": name, "text": "hello"}) as r:
                assert r.status == 202, await r.text()
            return name

        async def assignee_of(name: str) -> str:
            async def check() -> Any:
                async with http.get(f"{hub.url}/api/v1/conversations", headers=ann) as r:
                    found = [c for c in (await r.json())["conversations"] if c["contact"]["name"] == name]
                return found[0]["assignee"] if found and found[0]["assignee"] else None
            return await eventually(check, timeout=60)

        got = [await assignee_of(await write(n)) for n in range(3)]
        assert got == ["ann", "ann", "ann"]

        async with http.post(f"{hub.url}/api/v1/me/availability", headers=ben, json={"online": True}) as r:
            assert (await r.json()) == {"online": True, "away": False}
        # ben now carries no load against ann's three: the next one is his.
        assert await assignee_of(await write(3)) == "ben"
        await ben_live.close()
        await ann_live.close()


async def test_queues_and_bad_availability_input(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await hub.login(http)
        async with http.get(f"{hub.url}/api/v1/queues", headers=alice) as r:
            assert [q["name"] for q in (await r.json())["queues"]] == ["support"]
        for body in ({"online": "yes"}, {}, {"online": 1}):
            async with http.post(f"{hub.url}/api/v1/me/availability", headers=alice, json=body) as r:
                assert r.status == 400 and (await r.json())["error"]["code"] == "invalid"
        async with http.get(f"{hub.url}/api/v1/me/availability", headers=alice) as r:
            assert (await r.json())["away"] is False  # refused input changed nothing
        for path in ("/api/v1/agents", "/api/v1/queues", "/api/v1/me/availability"):
            async with http.get(f"{hub.url}{path}") as r:
                assert r.status == 401 and (await r.json())["error"]["code"] == "unauthorized"
