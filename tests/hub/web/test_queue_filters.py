"""The agent queue's filters (mine, unassigned, queue, channel, status) and the counts beside
them, over conversations the test wrote; counts are compared before and after, so other
data in the database does not matter."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from hub import events as ev
from tests.support import Hub, project

pytestmark = pytest.mark.integration


def opened(n: int, channel: str, queue: str, agent: str | None) -> list[ev.Event]:
    common = {"contact_id": f"flt-k{n}", "conversation_id": f"flt-c{n}"}
    return [
        ev.ConversationOpened(channel=channel, address=f"flt-a{n}", **common),
        ev.MessageReceived(id=f"flt-in{n}", channel=channel, address=f"flt-a{n}", text="hi", **common),
        ev.ConversationAssigned(queue=queue, agent=agent, **common),
    ]


async def _get(http: aiohttp.ClientSession, hub: Hub, auth: dict[str, str], path: str, **params: str) -> Any:
    async with http.get(f"{hub.url}{path}", params=params, headers=auth) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_filters_and_counts_agree_with_the_conversations_written(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await hub.login(http)
        before = await _get(http, hub, alice, "/api/v1/conversations/counts")
        events = [
            *opened(1, "sms", "filterq", "alice"),
            *opened(2, "web", "filterq", None),
            *opened(3, "web", "filterq", None),
            *opened(4, "sms", "filterq", "maria"),
            *opened(5, "web", "filterq", "alice"),
            ev.ConversationResolved(by="alice", contact_id="flt-k5", conversation_id="flt-c5"),
            ev.ConversationMarkedPending(by="alice", contact_id="flt-k1", conversation_id="flt-c1"),
        ]
        await project(hub.db_url, events)
        after = await _get(http, hub, alice, "/api/v1/conversations/counts")

        def delta(*path: str) -> int:
            a: Any = after
            b: Any = before
            for p in path:
                a, b = a.get(p, 0) if isinstance(a, dict) else a, b.get(p, 0) if isinstance(b, dict) else b
            return int(a) - int(b)

        assert (delta("mine"), delta("unassigned")) == (1, 2)  # alice's resolved one no longer counts
        assert (delta("status", "open"), delta("status", "pending"), delta("status", "resolved")) == (3, 1, 1)
        assert (delta("channel", "sms"), delta("channel", "web")) == (2, 2)
        assert after["queue"]["filterq"] == 4

        def ids(page: dict[str, Any]) -> set[str]:
            return {c["id"] for c in page["conversations"]}

        base = "/api/v1/conversations"
        assert ids(await _get(http, hub, alice, base, queue="filterq")) == {f"flt-c{i}" for i in range(1, 6)}
        assert ids(await _get(http, hub, alice, base, queue="filterq", assignee="me")) == {"flt-c1", "flt-c5"}
        assert ids(await _get(http, hub, alice, base, queue="filterq", unassigned="1")) == {"flt-c2", "flt-c3"}
        assert ids(await _get(http, hub, alice, base, queue="filterq", channel="sms")) == {"flt-c1", "flt-c4"}
        assert ids(await _get(http, hub, alice, base, queue="filterq", channel="web", status="open")) == {"flt-c2", "flt-c3"}
        assert ids(await _get(http, hub, alice, base, queue="filterq", status="pending", assignee="me")) == {"flt-c1"}
        async with http.get(f"{hub.url}/api/v1/conversations/counts") as r:
            assert r.status == 401
