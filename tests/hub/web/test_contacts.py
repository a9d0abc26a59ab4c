"""GET /api/v1/contacts/{id}, the customer panel's data: every identity, the conversations
on every channel (a merged contact's too) newest first and capped, the complaints with their
status and age; 404 and 401 as JSON errors; and a fixed number of SQL statements however
long the history."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy import event

from hub import events as ev
from hub.store import db
from hub.store.contacts import SHOWN, contact_context
from tests.support import POSTGRES_URL, Hub, project, reset_postgres

pytestmark = pytest.mark.integration

NOW = datetime.now(timezone.utc).replace(microsecond=0)
K = "ctx-k1"


def conversation(cid: str, contact: str, channel: str, address: str, at: datetime, subject: str = "", name: str = "") -> list[ev.Event]:
    common = {"contact_id": contact, "conversation_id": cid}
    return [
        ev.ConversationOpened(id=f"open-{cid}", at=at, channel=channel, address=address, subject=subject, name=name, **common),
        ev.MessageReceived(id=f"in-{cid}", at=at, channel=channel, address=address, text="hi", name=name, subject=subject, **common),
    ]


def history() -> list[ev.Event]:
    """Contact K on SMS, email and Telegram, plus a web chat contact merged into it later;
    its SMS conversation was a resolved complaint, the email one an open complaint."""
    day = timedelta(days=1)
    return [
        *conversation("ctx-sms", K, "sms", "+989121234567", NOW - 5 * day, name="مریم Rahimi"),
        ev.ComplaintDetected(at=NOW - 5 * day, contact_id=K, conversation_id="ctx-sms", reason="the customer wrote «شکایت»"),
        ev.ConversationResolved(at=NOW - 4 * day, contact_id=K, conversation_id="ctx-sms", by="alice"),
        *conversation("ctx-email", K, "email", "maryam@example.com", NOW - 2 * day, subject="Invoice 4711"),
        ev.ComplaintDetected(at=NOW - 2 * day, contact_id=K, conversation_id="ctx-email", reason="explicit"),
        *conversation("ctx-tg", K, "telegram", "777001", NOW - 3 * day),
        ev.ConversationMarkedPending(at=NOW - 3 * day, contact_id=K, conversation_id="ctx-tg", by="alice"),
        *conversation("ctx-web", "ctx-k9", "web", "sess-9", NOW - 1 * day),
        ev.ContactsMerged(at=NOW - 1 * day + timedelta(seconds=1), contact_id=K, merged_contact_id="ctx-k9", channel="web", address="sess-9"),
        *conversation("ctx-other", "ctx-k2", "sms", "+989350000000", NOW - 1 * day),  # someone else
    ]


async def _get(http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with http.get(url, headers=headers or {}) as r:
        return r.status, await r.json()


async def test_a_contact_with_its_identities_conversations_and_complaints(hub: Hub) -> None:
    await project(hub.db_url, history())
    async with aiohttp.ClientSession() as http:
        alice = await hub.login(http)  # an agent, the lowest role, may read it
        status, body = await _get(http, f"{hub.url}/api/v1/contacts/{K}", alice)
    assert status == 200, body
    assert body["contact"]["id"] == K and body["contact"]["name"] == "مریم Rahimi"
    assert {(i["channel"], i["address"]) for i in body["contact"]["identities"]} == {
        ("sms", "+989121234567"), ("email", "maryam@example.com"), ("telegram", "777001"), ("web", "sess-9")}
    # newest activity first, across channels, the merged contact's chat included, nobody else's
    assert [c["id"] for c in body["conversations"]] == ["ctx-web", "ctx-email", "ctx-tg", "ctx-sms"]
    assert body["more"] is False
    by_id = {c["id"]: c for c in body["conversations"]}
    assert (by_id["ctx-sms"]["status"], by_id["ctx-sms"]["channel"], by_id["ctx-sms"]["complaint"]) == ("resolved", "sms", True)
    assert by_id["ctx-tg"]["status"] == "pending" and by_id["ctx-email"]["subject"] == "Invoice 4711"
    assert datetime.fromisoformat(by_id["ctx-email"]["last_message_at"]) == NOW - timedelta(days=2)
    # complaints: the unresolved one first, each with its status and age
    complaints = body["complaints"]
    assert [(c["conversation_id"], c["status"]) for c in complaints] == [("ctx-email", "open"), ("ctx-sms", "resolved")]
    # NOW is taken at import: the age also holds the time the suite took to get here
    since_import = (datetime.now(timezone.utc) - NOW).total_seconds()
    assert 2 * 86400 <= complaints[0]["age_seconds"] <= 2 * 86400 + since_import + 60
    assert datetime.fromisoformat(complaints[1]["resolved_at"]) == NOW - timedelta(days=4)


async def test_unknown_contact_and_missing_sign_in_are_json_errors(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await hub.login(http)
        status, body = await _get(http, f"{hub.url}/api/v1/contacts/no-such-contact", alice)
        assert (status, body["error"]["code"]) == (404, "not_found")
        status, body = await _get(http, f"{hub.url}/api/v1/contacts/{K}")
        assert (status, body["error"]["code"]) == (401, "unauthorized")
        status, body = await _get(http, f"{hub.url}/api/v1/contacts/{K}", {"Authorization": "Bearer forged.token"})
        assert (status, body["error"]["code"]) == (401, "unauthorized")
        # every signed-in role may read it (agent is the lowest, so there is no 403 to give)
        maria = await hub.login(http, "maria", "maria-pw")
        status, _ = await _get(http, f"{hub.url}/api/v1/contacts/{K}", maria)
        assert status == 200


async def own_postgres_database(name: str) -> str:
    """A database of this test's own on the test server, so it never drops the schema
    another suite is using in the shared `test` database."""
    server, _, _ = POSTGRES_URL.rpartition("/")
    conn = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://") + "/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = f"{server}/{name}"
    await reset_postgres(url)
    return url


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_long_history_is_capped_and_costs_the_same_statements(tmp_path: Path, kind: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/t.db" if kind == "sqlite" else await own_postgres_database("test_contacts_panel")
    await db.migrate(url)
    base = NOW - timedelta(days=100)
    events = [e for n in range(SHOWN + 5) for e in conversation(f"long-{n:03}", "long-k", "api", "u-long", base + timedelta(hours=n))]
    events += conversation("short-1", "short-k", "api", "u-short", base)
    events += [ev.ComplaintDetected(at=base, contact_id="long-k", conversation_id=f"long-{n:03}", reason="r") for n in (0, 30)]
    await project(url, events)
    engine = db.make_engine(url)
    statements: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    try:
        async with db.sessionmaker(engine)() as s:
            short = await contact_context(s, "short-k", NOW)
            short_cost = len(statements)
            statements.clear()
            long = await contact_context(s, "long-k", NOW)
            long_cost = len(statements)
            assert await contact_context(s, "nobody", NOW) is None
    finally:
        await engine.dispose()
    assert short is not None and long is not None
    assert len(short["conversations"]) == 1 and short["more"] is False
    assert len(long["conversations"]) == SHOWN and long["more"] is True
    assert long["conversations"][0]["id"] == f"long-{SHOWN + 4:03}"  # the newest first
    assert [c["conversation_id"] for c in long["complaints"]] == ["long-030", "long-000"]
    assert long_cost == short_cost <= 3, (short_cost, long_cost)
