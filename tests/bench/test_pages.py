"""The page bench's parts: the seeder writes what it says it wrote (counted again in the
database, on SQLite and PostgreSQL), and a small timing run against a real hub gives a row
per page, asset and API read with the server's figure from Server-Timing. Nothing is timed
against a limit here; bench/pages.py prints the figures."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bench import pages
from bench.seed import BUSY_MESSAGES, Seeded, seed
from hub.store import db
from hub.store.models import Contact, Conversation, Escalation, Identity, Message, User
from hub.store.queries import queue_counts
from tests.support import POSTGRES_URL

# A database of its own: the shared `test` database is reset by other suites.
PAGES_POSTGRES_URL = POSTGRES_URL.rsplit("/", 1)[0] + "/pagebench_test"


async def _database(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/seed.db"
    why = await pages.prepare_postgres(PAGES_POSTGRES_URL)
    assert why is None, f"PostgreSQL at {PAGES_POSTGRES_URL} not usable: {why}"
    return PAGES_POSTGRES_URL


async def _counted(url: str) -> dict[str, Any]:
    """The tables counted again, independently of what the seeder reported."""
    engine = db.make_engine(url)
    try:
        async with db.sessionmaker(engine)() as s:
            c = Conversation
            convs = list((await s.execute(select(c.id, c.contact_id, c.status, c.channel, c.queue, c.assignee, c.complaint, c.sla))).all())
            contact_ids = set(await s.scalars(select(Contact.id)))
            per_conv = dict((await s.execute(select(Message.conversation_id, func.count()).group_by(Message.conversation_id))).all())
            return {
                "conversations": len(convs),
                "by_status": Counter(r.status for r in convs),
                "by_channel": Counter(r.channel for r in convs),
                "by_queue": Counter(r.queue for r in convs),
                "unassigned": sum(r.assignee is None for r in convs),
                "complaints": sum(bool(r.complaint) for r in convs),
                "with_sla": sum(bool(r.sla) for r in convs),
                "contacts": len(contact_ids),
                "identities": await s.scalar(select(func.count()).select_from(Identity)),
                "messages": sum(per_conv.values()),
                "escalations": await s.scalar(select(func.count()).select_from(Escalation)),
                "open_escalations": await s.scalar(select(func.count()).select_from(Escalation).where(Escalation.acknowledged_at.is_(None))),
                "agents": await s.scalar(select(func.count()).select_from(User)),
                "orphan_conversations": sum(r.contact_id not in contact_ids for r in convs),
                "orphan_messages": len(set(per_conv) - {r.id for r in convs}),
                "messages_per_conversation": per_conv,
                "counts_api": await queue_counts(s, "lead01"),
                "lead_holds": sum(r.assignee == "lead01" and r.status in ("open", "pending") for r in convs),
            }
    finally:
        await engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
async def test_the_seeder_writes_what_it_reports(kind: str, tmp_path: Path) -> None:
    url = await _database(kind, tmp_path)
    out: Seeded = await seed(url, 200, seed=11)
    got = await _counted(url)
    assert got["conversations"] == out.conversations == 200
    assert got["by_status"] == out.by_status and set(out.by_status) == {"open", "pending", "resolved"}
    assert got["by_channel"] == out.by_channel and len(out.by_channel) >= 4
    assert got["by_queue"] == out.by_queue
    for key in ("unassigned", "complaints", "with_sla", "contacts", "identities", "messages", "escalations", "open_escalations", "agents"):
        assert got[key] == getattr(out, key), key
    assert out.contacts == 60 and out.identities >= out.contacts
    assert got["orphan_conversations"] == 0 and got["orphan_messages"] == 0
    assert got["messages_per_conversation"][out.busy_conversation] == BUSY_MESSAGES == out.busy_messages
    assert 0 < out.escalations and 0 < out.with_sla < out.conversations
    # The filter counts the agent page shows, on both databases (PostgreSQL once refused
    # the queue grouping), agree with the rows.
    counts = got["counts_api"]
    assert counts["status"] == dict(out.by_status)
    assert counts["mine"] == got["lead_holds"]
    assert sum(counts["queue"].values()) == out.by_status["open"] + out.by_status["pending"]


@pytest.mark.integration  # starts a hub
async def test_a_small_timing_run_gives_a_row_per_route() -> None:
    result = await pages.run("sqlite", conversations=200, repeat=2)
    saved = json.loads(json.dumps(result))  # what run_all writes to bench/results/pages.json
    assert sum(saved["seeded"]["by_status"].values()) == 200 and set(saved["seeded"]["by_status"]) == {"open", "pending", "resolved"}
    rows = {r["path"].split("?")[0] if r["path"].startswith("/api/") else r["path"]: r for r in result["rows"]}
    paths = {r["path"] for r in result["rows"]}
    # Every page and every GET route under /api/v1 the app registers, but the ones left out with a reason.
    assert {"/", "/manager", "/chat", "/static/agent.js", "/static/manager.js", "/chat/widget.js"} <= paths
    for route in pages.api_get_routes():
        if route in result["not_timed"]:
            continue
        filled = pages.fill(route, Seeded(busy_conversation=result["seeded"]["busy_conversation"],
                                          busy_contact=result["seeded"]["busy_contact"], escalation_id=result["seeded"]["escalation_id"]))
        assert filled in rows, f"{route} not timed"
    assert "/api/v1/live" in result["not_timed"]
    assert any("cursor=" in p for p in paths)  # the second page of the queue
    for r in result["rows"]:
        assert r["n"] == 2 and r["statuses"] == [200], r
        assert math.isfinite(r["server_p50"]) and math.isfinite(r["client_p90"]), r  # Server-Timing came back on every answer
        assert r["server_max"] <= r["client_max"] + 1, r  # the server's share cannot exceed the whole wall time (1 ms rounding)
