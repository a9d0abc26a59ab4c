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


def _statements(store: Store) -> list[str]:  # noqa: F811
    """Every statement the store's engine executes from now on (executemany counts once)."""
    from sqlalchemy import event

    seen: list[str] = []
    event.listen(store.engine.sync_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def _busy_conversations(n: int) -> list[ev.Event]:
    """n new conversations, each as the worker reports it: opened, a message, its clocks,
    a warning, its assignment, and for every third a transfer after it."""
    out: list[ev.Event] = []
    for i in range(n):
        c, contact = f"c{i}", f"contact-{i}"
        clock = clocks()["first_response"]
        out += [opened(c, contact=contact, address=f"+98912000{i:04d}"),
                received(c, f"m{i}", T0, contact=contact, address=f"+98912000{i:04d}"),
                ev.SlaClocksChanged(id=f"k{i}", at=T0, contact_id=contact, conversation_id=c, clocks=clocks()),
                ev.SlaWarning(id=f"w{i}", at=T0 + timedelta(seconds=4), contact_id=contact, conversation_id=c, clock="first_response",
                              policy="chat-5s", due_at=DUE),
                ev.ConversationAssigned(contact_id=contact, conversation_id=c, queue="support", agent="alice"),
                ev.SlaClocksChanged(id=f"k{i}b", at=T0, contact_id=contact, conversation_id=c, clocks={**clocks(), "first_response": {**clock, "met_at": DUE.isoformat()}})]
        if i % 3 == 0:
            out.append(ev.ConversationTransferred(contact_id=contact, conversation_id=c, queue="billing", from_queue="support", by="alice"))
    return out


async def test_clock_reports_and_assignments_in_a_batch_equal_one_event_at_a_time(store: Store, tmp_path: Any) -> None:  # noqa: F811
    from tests.hub.store.test_projection import _one_by_one_vs_batch

    singly, batched = await _one_by_one_vs_batch(store, _busy_conversations(6), tmp_path)
    assert batched["conversations"] == singly["conversations"]
    # the warning stayed marked through the later report, the transfer cleared the assignee
    first = singly["conversations"][0]
    assert first["sla"]["first_response"]["warned_at"] == (T0 + timedelta(seconds=4)).isoformat()
    assert first["sla"]["first_response"]["met_at"] == DUE.isoformat()
    assert (first["queue"], first["assignee"]) == ("billing", None)
    assert [(c["queue"], c["assignee"]) for c in singly["conversations"][1:3]] == [("support", "alice")] * 2


async def test_a_batch_costs_the_same_statements_for_5_or_50_conversations(store: Store) -> None:  # noqa: F811
    """Clock reports and assignments are folded: the statements of a batch do not grow with
    the conversations in it (they were two per clock report and one per assignment)."""
    seen = _statements(store)
    await store.apply(_busy_conversations(5))
    few = len(seen)
    seen.clear()
    await store.apply([e for e in _busy_conversations(50) if e.conversation_id not in {f"c{i}" for i in range(5)}])  # type: ignore[attr-defined]
    assert len(seen) <= few
    async with store.sessions() as s:
        found = await queries.get_conversation(s, "c49")
    assert found is not None and found["sla"]["first_response"]["warned_at"] and found["assignee"] == "alice"
