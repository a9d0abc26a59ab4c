"""The SLA clocks and complaints in the read model, on SQLite and PostgreSQL: the clocks as
the SLA processor reports them, warnings and breaches marked at once and never unmarked by an
older report, a complaint's raised priority, and replays that change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hub import events as ev
from hub.store import queries
from tests.hub.store.test_projection import CONTACT, T0, Store, conversation, opened, received, snapshot, store  # noqa: F401

DUE = T0 + timedelta(seconds=5)


def clocks(**first: Any) -> dict[str, Any]:
    clock = {"started_at": T0.isoformat(), "due_at": DUE.isoformat(), "warned_at": None, "breached_at": None, "met_at": None,
             "stopped_at": None, "paused": False, **first}
    return {"policy": "chat-5s", "first_response": clock, "next_response": None, "resolution": None}


def changed(source: str, **first: Any) -> ev.SlaClocksChanged:
    return ev.SlaClocksChanged(id=ev.derived_id("sla-clocks", source), at=T0, contact_id=CONTACT, conversation_id="c1", clocks=clocks(**first))


def breached(at_seconds: float) -> ev.SlaBreached:
    return ev.SlaBreached(id="b1", at=T0 + timedelta(seconds=at_seconds), contact_id=CONTACT, conversation_id="c1", clock="first_response",
                          policy="chat-5s", due_at=DUE)


async def view(store: Store) -> dict[str, Any]:  # noqa: F811
    async with store.sessions() as s:
        found = await queries.get_conversation(s, "c1")
    assert found is not None
    return dict(found)


async def test_clocks_show_as_reported_and_a_breach_at_once(store: Store) -> None:  # noqa: F811
    await store.apply([opened("c1"), received("c1", "m1", T0)])
    assert (await view(store))["sla"] == {"policy": None, "first_response": None, "next_response": None, "resolution": None}
    frames = await store.apply([changed("m1")])
    assert (await view(store))["sla"] == clocks()
    assert [f["conversation"]["sla"]["policy"] for f in frames if f["type"] == "conversation.updated"] == ["chat-5s"]
    # the breach shows before the processor reports it back, and an older report does not undo it
    frames = await store.apply([breached(5.2), changed("a-reply-from-before-the-breach")])
    shown = (await view(store))["sla"]["first_response"]
    assert shown["breached_at"] == (T0 + timedelta(seconds=5.2)).isoformat()
    assert any(f["type"] == "conversation.updated" and f["conversation"]["sla"]["first_response"]["breached_at"] for f in frames)
    # a breach of another deadline (an older clock) marks nothing
    other = ev.SlaBreached(id="b0", at=T0, contact_id=CONTACT, conversation_id="c1", clock="first_response", policy="x", due_at=T0)
    before = await snapshot(store)
    await store.apply([other, breached(5.2), changed("m1")])  # and a replay of the same events changes nothing
    assert await snapshot(store) == before


async def test_a_complaint_raises_priority_once(store: Store) -> None:  # noqa: F811
    complaint = ev.ComplaintDetected(id="cd1", contact_id=CONTACT, conversation_id="c1", reason="the customer wrote «شکایت»")
    await store.apply([opened("c1"), received("c1", "m1", T0), complaint])
    conv = await conversation(store, "c1")
    assert (conv.complaint, conv.priority) == (True, "high")
    before = await snapshot(store)
    await store.apply([complaint])
    assert await snapshot(store) == before
    await store.apply([ev.ComplaintDetected(contact_id=CONTACT, conversation_id="ghost", reason="x")])  # unknown: nothing
    assert await snapshot(store) == before
