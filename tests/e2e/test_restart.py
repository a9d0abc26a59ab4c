"""The hub run as `contacthub run` runs it (embedded broker whose log dies with it, archive
on), stopped and started again on the same var/ and database: nothing a customer or an agent
did is lost, clocks and ladders armed before the stop fire once after it, and nothing already
answered is raised again. Also: SIGKILL of every process right after 500 answers 202, and a
database from before the archive."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest
from sqlalchemy import select

from hub import events as ev
from hub import topics
from hub.store import db as store_db
from hub.store.models import ArchivedRecord, Conversation, LogIncarnation, Message, StreamOffset, Survey
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.support import eventually, reset_postgres
from tests.support.run import RunningHub

pytestmark = pytest.mark.integration

SID, TOKEN = "AC" + "f" * 32, "restart-token"
LEAD_PHONE = "+989120000011"
LATE = timedelta(seconds=2)  # how late after its deadline (or readiness) a clock may fire
# The chat clock and the ladder fall due while the hub is down (a start takes ~20 s); the
# API clock is meant to fall due after it is back, unless the start was slower than that.
CONFIG = """
[[escalation]]
name = "unresolved-complaint"
when = { complaint = true }
levels = [ { after = "10s", notify = ["role:lead"] } ]

[[sla]]
name = "api"
when = { channel = "api" }
calendar = "24x7"
first_response = "45s"

[[sla]]
name = "chat"
calendar = "24x7"
first_response = "8s"

[surveys]
"""


@pytest.fixture(scope="module")
async def twilio_api() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(SID, TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


def running_hub(tmp: Path, database: str, twilio: FakeTwilio, *, fresh: bool = True) -> RunningHub:
    twilio.sent.clear()  # the fake outlives a test; what it saw belongs to the test that sent it
    (tmp / "hub.toml").write_text(CONFIG)
    env = {"HUB_CONFIG": str(tmp / "hub.toml"), "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN,
           "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_API_BASE": twilio.url}
    return RunningHub(tmp, database, env, fresh=fresh)


async def receive(ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 30) -> dict[str, Any]:
    async def loop() -> dict[str, Any]:
        while True:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            frame = json.loads(msg.data)
            if frame["type"] == kind:
                return dict(frame)
    return await asyncio.wait_for(loop(), timeout)


class Desk:
    """What the test does through the hub's public surface, as customers, agents and the lead do."""

    def __init__(self, hub: RunningHub, http: aiohttp.ClientSession) -> None:
        self.hub, self.http = hub, http
        self.agent: dict[str, str] = {}
        self.lead: dict[str, str] = {}
        self.key = ""

    async def sign_in(self) -> None:
        self.agent = await self.hub.login(self.http)
        self.lead = await self.hub.login(self.http, "lena", "lena-pw")

    async def chat(self, frame_id: str, text: str, session: str | None = None) -> tuple[str, aiohttp.ClientWebSocketResponse, dict[str, Any]]:
        """A chat message, acked; the session token, the open socket and its hello."""
        ws = await self.http.ws_connect(f"{self.hub.url}/chat/ws" + (f"?session={session}" if session else ""))
        hello = await receive(ws, "hello")
        await ws.send_json({"type": "message", "id": frame_id, "text": text})
        assert (await receive(ws, "ack"))["id"] == frame_id
        return str(hello["session"]), ws, hello

    async def api_message(self, sender: str, text: str, msg_id: str) -> None:
        async with self.http.post(f"{self.hub.url}/api/v1/inbound", json={"id": msg_id, "from": sender, "text": text},
                                  headers={"X-Api-Key": self.key}) as r:
            assert r.status == 202, await r.text()

    async def conversations_of(self, address: str) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.hub.url}/api/v1/conversations", headers=self.agent) as r:
            assert r.status == 200, await r.text()
            return [c for c in (await r.json())["conversations"] if any(i["address"] == address for i in c["contact"]["identities"])]

    async def conversation_of(self, address: str) -> dict[str, Any]:
        async def one() -> Any:
            found = await self.conversations_of(address)
            return found[0] if found else None
        return dict(await eventually(one, timeout=30))

    async def detail(self, conv_id: str) -> dict[str, Any]:
        async with self.http.get(f"{self.hub.url}/api/v1/conversations/{conv_id}", headers=self.agent) as r:
            assert r.status == 200, await r.text()
            return dict(await r.json())

    async def post(self, path: str, body: dict[str, Any], auth: dict[str, str] | None = None) -> dict[str, Any]:
        async with self.http.post(f"{self.hub.url}{path}", json=body, headers=auth or self.agent) as r:
            assert r.status == 202, await r.text()
            return dict(await r.json())

    async def escalations(self, conv_id: str) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.hub.url}/api/v1/escalations?conversation_id={conv_id}", headers=self.lead) as r:
            assert r.status == 200, await r.text()
            return list((await r.json())["escalations"])

    async def clock(self, conv_id: str, field: str) -> Any:
        clock = (await self.detail(conv_id))["sla"]["first_response"]
        return clock if clock and clock.get(field) else None


async def archived_events(hub: RunningHub) -> list[ev.Event]:
    """Every conversation event the log has held, from the database's archive."""
    engine = store_db.make_engine(hub.db_url)
    try:
        async with store_db.sessionmaker(engine)() as s:
            rows = await s.execute(select(ArchivedRecord.value).where(ArchivedRecord.topic == topics.CONVERSATIONS.name)
                                   .order_by(ArchivedRecord.partition, ArchivedRecord.offset))
            return [ev.from_json(v) for (v,) in rows]
    finally:
        await engine.dispose()


def raised(events: list[ev.Event], conv_id: str) -> Counter[str]:
    return Counter(e.type for e in events if getattr(e, "conversation_id", None) == conv_id
                   and e.type in ("SlaWarning", "SlaBreached", "Escalated"))


def texts_to(twilio: FakeTwilio, phone: str) -> list[str]:
    return [s["Body"] for s in twilio.sent if s["To"] == phone]


async def before_the_stop(desk: Desk, twilio: FakeTwilio) -> dict[str, Any]:
    """A waiting chat, an unanswered API complaint and an answered, resolved complaint."""
    hub = desk.hub
    desk.key = hub.cli("apikeys", "add", "shop").stdout.strip().split()[-1]
    session, ws, _ = await desk.chat("m-1", "سلام، سفارشم کجاست؟")
    await ws.close()
    waiting = await desk.conversation_of(session.split(".")[0])

    await desk.api_message("u-resolved", "the box was crushed", "r-1")
    answered = await desk.conversation_of("u-resolved")
    await desk.post(f"/api/v1/conversations/{answered['id']}/complaint", {"reason": "crushed box"})
    await desk.post(f"/api/v1/conversations/{answered['id']}/replies", {"text": "A new one is on its way."})
    await desk.post(f"/api/v1/conversations/{answered['id']}/resolve", {})

    await desk.api_message("u-complaint", "nobody answers me", "c-1")
    complaint = await desk.conversation_of("u-complaint")
    await desk.post(f"/api/v1/conversations/{complaint['id']}/complaint", {"reason": "ignored"})

    chat_clock = await eventually(lambda: desk.clock(waiting["id"], "due_at"), timeout=15)
    api_clock = await eventually(lambda: desk.clock(complaint["id"], "due_at"), timeout=15)
    await eventually(lambda: _resolved(desk, answered["id"]), timeout=15)
    assert texts_to(twilio, LEAD_PHONE) == []  # the ladder's first step is 10 s away: due while stopped
    return {"session": session, "waiting": waiting["id"], "answered": answered["id"], "complaint": complaint["id"],
            "chat_due": datetime.fromisoformat(chat_clock["due_at"]), "api_due": datetime.fromisoformat(api_clock["due_at"])}


async def _resolved(desk: Desk, conv_id: str) -> bool:
    return (await desk.detail(conv_id))["status"] == "resolved"


async def after_the_start(desk: Desk, before: dict[str, Any]) -> None:
    """Criterion 1 and 3: what was there is there, and everything after the start flows."""
    old = await desk.detail(before["waiting"])
    assert [m["text"] for m in old["messages"]] == ["سلام، سفارشم کجاست؟"]
    assert old["assignee"] is None  # nobody was online before the stop

    # the returning customer's follow-up joins her conversation, and she sees her history
    _, ws, hello = await desk.chat("m-2", "هنوز منتظرم", session=before["session"])
    assert [m["text"] for m in hello["history"]] == ["سلام، سفارشم کجاست؟"]

    async def both() -> Any:
        texts = [m["text"] for m in (await desk.detail(before["waiting"]))["messages"]]
        return texts if len(texts) == 2 else None
    assert await eventually(both, timeout=30) == ["سلام، سفارشم کجاست؟", "هنوز منتظرم"]
    assert len(await desk.conversations_of(before["session"].split(".")[0])) == 1

    # a new customer after the start reaches the agents
    newcomer, ws_new, _ = await desk.chat("n-1", "a new customer after the restart")
    await ws_new.close()
    assert (await desk.conversation_of(newcomer.split(".")[0]))["status"] == "open"

    # the agent comes online: the conversation that waited through the stop is hers
    live = await desk.http.ws_connect(f"{desk.hub.url}/api/v1/live", headers=desk.agent)
    await receive(live, "hello")

    async def assigned() -> Any:
        return (await desk.detail(before["waiting"]))["assignee"]
    assert await eventually(assigned, timeout=30) == "alice"

    # her reply reaches the customer's socket and moves to delivered
    reply = await desk.post(f"/api/v1/conversations/{before['waiting']}/replies", {"text": "It ships today."})
    pushed = await receive(ws, "message")
    assert (pushed["id"], pushed["from"], pushed["text"]) == (reply["id"], "agent", "It ships today.")

    async def delivered() -> Any:
        msgs = (await desk.detail(before["waiting"]))["messages"]
        return [m for m in msgs if m["id"] == reply["id"] and m["delivery"] == "delivered"]
    await eventually(delivered, timeout=30)
    await ws.close()
    await live.close()


async def test_a_sigterm_restart_then_a_sigkill_of_everything_loses_nothing_and_raises_each_clock_once(tmp_path: Path, twilio_api: FakeTwilio) -> None:
    hub = running_hub(tmp_path, "sqlite", twilio_api)
    try:
        await hub.start()
        hub.cli("users", "add", "lena", "--role", "lead", "--password", "lena-pw", "--phone", LEAD_PHONE)
        async with aiohttp.ClientSession() as http:
            desk = Desk(hub, http)
            await desk.sign_in()
            before = await before_the_stop(desk, twilio_api)
            await asyncio.sleep(1)  # the archiver's next poll: the stop is not meant to race it

            hub.stop()
            await hub.start()
            ready = datetime.now(timezone.utc)
            await desk.sign_in()

            # criterion 2: the chat clock fell due while stopped and breaches at readiness
            breach = await eventually(lambda: desk.clock(before["waiting"], "breached_at"), timeout=30, interval=0.1)
            breached_at = datetime.fromisoformat(breach["breached_at"])
            print(f"\nrestart: chat clock due {before['chat_due']:%H:%M:%S.%f}, ready {ready:%H:%M:%S.%f}, breached {breached_at:%H:%M:%S.%f}")
            assert before["chat_due"] <= breached_at <= max(before["chat_due"], ready) + LATE
            # the ladder armed before the stop reaches the lead, once
            await eventually(lambda: _texts(twilio_api, LEAD_PHONE, 1), timeout=30)
            await after_the_start(desk, before)

            # the API clock: due after readiness (or at it, if the start was slow)
            breach = await eventually(lambda: desk.clock(before["complaint"], "breached_at"), timeout=60, interval=0.1)
            breached_at = datetime.fromisoformat(breach["breached_at"])
            print(f"restart: api clock due {before['api_due']:%H:%M:%S.%f}, breached {breached_at:%H:%M:%S.%f}")
            assert before["api_due"] <= breached_at <= max(before["api_due"], ready) + LATE

            # criterion 4: 500 answered 202, then every process of the run is SIGKILLed
            sem = asyncio.Semaphore(20)

            async def one(n: int) -> None:
                async with sem:
                    await desk.api_message(f"bulk-{n % 50}", f"bulk {n % 50} {n}", f"b-{n}")
            await asyncio.gather(*(one(n) for n in range(500)))
            hub.kill_all()
            await hub.start()
            await desk.sign_in()

            async def all_in() -> Any:
                found = await bulk_messages(hub)
                return found if len(found) >= 500 else None
            await eventually(all_in, timeout=90, interval=0.5)
            await asyncio.sleep(2)  # a late duplicate would show by now
            found = await bulk_messages(hub)
            assert sorted(text for text, _, _ in found) == sorted(f"bulk {n % 50} {n}" for n in range(500))  # all, none twice
            per_sender: dict[str, set[tuple[str, str]]] = {}
            for text, conv_id, contact in found:
                per_sender.setdefault(text.split()[1], set()).add((conv_id, contact))
            assert len(per_sender) == 50 and all(len(c) == 1 for c in per_sender.values()), per_sender
            assert len({c for convs in per_sender.values() for c in convs}) == 50

        # across both restarts: the lead was told once; nothing answered was ever raised
        logged = await archived_events(hub)
        assert texts_to(twilio_api, LEAD_PHONE) == texts_to(twilio_api, LEAD_PHONE)[:1]
        assert raised(logged, before["waiting"]) == Counter({"SlaWarning": 1, "SlaBreached": 1})
        assert raised(logged, before["complaint"]) == Counter({"SlaWarning": 1, "SlaBreached": 1, "Escalated": 1})
        assert raised(logged, before["answered"]) == Counter()
        async with aiohttp.ClientSession() as http:
            desk = Desk(hub, http)
            await desk.sign_in()
            assert await desk.escalations(before["answered"]) == []
            assert [e["level"] for e in await desk.escalations(before["complaint"])] == [1]
            # its clock is as the SLA processor last reported it, or none if it was resolved first
            answered = (await desk.detail(before["answered"]))["sla"]["first_response"]
            assert answered is None or answered["breached_at"] is None, answered
        assert "refilled" in hub.logs() and "caught up on the refilled log" in hub.logs()
        # the senders went on from where they were in this log, not from its beginning
        kept = await positions(hub, "senders")
        assert kept and {log_id for _, _, log_id in kept} == {await current_log(hub)}, kept
        assert any(topic == topics.CONVERSATIONS.name and offset > 0 for topic, offset, _ in kept), kept
    finally:
        hub.kill_leftovers()


async def _texts(twilio: FakeTwilio, phone: str, n: int) -> Any:
    found = texts_to(twilio, phone)
    return found if len(found) >= n else None


async def positions(hub: RunningHub, consumer: str) -> list[tuple[str, int, str | None]]:
    engine = store_db.make_engine(hub.db_url)
    try:
        async with store_db.sessionmaker(engine)() as s:
            rows = await s.execute(select(StreamOffset.topic, StreamOffset.next_offset, StreamOffset.log_id).where(StreamOffset.consumer == consumer))
            return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        await engine.dispose()


async def current_log(hub: RunningHub) -> str:
    engine = store_db.make_engine(hub.db_url)
    try:
        async with store_db.sessionmaker(engine)() as s:
            return str(await s.scalar(select(LogIncarnation.id).order_by(LogIncarnation.started_at.desc()).limit(1)))
    finally:
        await engine.dispose()


async def bulk_messages(hub: RunningHub) -> list[tuple[str, str, str]]:
    """(text, conversation, contact) of every bulk message in the read model."""
    engine = store_db.make_engine(hub.db_url)
    try:
        async with store_db.sessionmaker(engine)() as s:
            rows = await s.execute(select(Message.text, Message.conversation_id, Conversation.contact_id)
                                   .join(Conversation, Conversation.id == Message.conversation_id).where(Message.text.like("bulk %")))
            return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        await engine.dispose()


async def test_on_postgresql_a_database_from_before_the_archive_is_said_plainly_and_a_restart_loses_nothing(tmp_path: Path, twilio_api: FakeTwilio) -> None:
    hub = running_hub(tmp_path, "postgres", twilio_api, fresh=False)
    await before_the_archive(hub)
    try:
        await hub.start()
        hub.cli("users", "add", "lena", "--role", "lead", "--password", "lena-pw", "--phone", LEAD_PHONE)
        said = hub.logs()
        assert "from before the log archive" in said and "from a log this hub has not seen" in said
        async with aiohttp.ClientSession() as http:
            desk = Desk(hub, http)
            await desk.sign_in()
            before = await before_the_stop(desk, twilio_api)  # criterion 5: the next messages flow
            surveyed = await an_answered_survey(desk)
            await asyncio.sleep(1)
            hub.stop()
            await hub.start()
            await desk.sign_in()
            await after_the_start(desk, before)
            await the_survey_after_the_start(desk, surveyed)
        assert hub.logs().count("from before the log archive") == 1  # said once, on the first start
        hub.stop()
        await replays_from_the_archive(hub, before, surveyed)
    finally:
        hub.kill_leftovers()


async def an_answered_survey(desk: Desk) -> dict[str, Any]:
    """Issue 18: a resolved API conversation asked its CSAT, answered by a message «۵»."""
    await desk.api_message("u-survey", "where is my invoice?", "s-1")
    conv = await desk.conversation_of("u-survey")
    await desk.post(f"/api/v1/conversations/{conv['id']}/resolve", {})

    async def asked() -> Any:
        return (await desk.detail(conv["id"]))["surveys"] or None
    await eventually(asked, timeout=30)
    await desk.api_message("u-survey", "۵", "s-2")

    async def answered() -> Any:
        shown = (await desk.detail(conv["id"]))["surveys"]
        return shown if shown and shown[0]["score"] == 5 else None
    return {"conversation": conv["id"], "surveys": await eventually(answered, timeout=30)}


async def the_survey_after_the_start(desk: Desk, surveyed: dict[str, Any]) -> None:
    """The survey state came back whole: the read model's, and the processor's (answered, so a
    «۴» now is a message of a new conversation, not a second answer)."""
    assert (await desk.detail(surveyed["conversation"]))["surveys"] == surveyed["surveys"]
    await desk.api_message("u-survey", "۴", "s-3")

    async def a_message() -> Any:
        convs = await desk.conversations_of("u-survey")
        return convs if len(convs) == 2 else None
    await eventually(a_message, timeout=30)
    assert (await desk.detail(surveyed["conversation"]))["surveys"] == surveyed["surveys"]


async def replays_from_the_archive(hub: RunningHub, before: dict[str, Any], surveyed: dict[str, Any]) -> None:
    """`replay` and `replay --sla` on a log that lacks the history (a new, empty broker): the
    read model is rebuilt from the archive (the surveys too), and the policies judge the
    archived history."""
    from sqlalchemy import delete, update

    from hub.broker import EmbeddedBroker

    engine = store_db.make_engine(hub.db_url)
    try:
        async with store_db.sessionmaker(engine)() as s:
            kept = {m for (m,) in await s.execute(select(Message.id))}
        async with store_db.sessionmaker(engine)() as s, s.begin():
            await s.execute(delete(Message))
            await s.execute(delete(Survey))
            await s.execute(update(Conversation).values(surveys=[]))
        broker = EmbeddedBroker(log_file=hub.tmp / "replay-broker.log")
        broker.start()
        try:
            await broker.wait_ready()
            env = {**hub.env, "HUB_KAFKA_BOOTSTRAP": broker.bootstrap}
            done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "hub.cli", "replay"], env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0 and "reading" in done.stderr and "archived records" in done.stderr, done.stderr[-2000:]
            sla = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "hub.cli", "replay", "--sla", "--json"], env=env, capture_output=True,
                                          text=True, timeout=120)
            assert sla.returncode == 0, sla.stderr[-2000:]
        finally:
            broker.stop()
        async with store_db.sessionmaker(engine)() as s:
            assert {m for (m,) in await s.execute(select(Message.id))} == kept
            replayed = await s.scalar(select(Conversation.surveys).where(Conversation.id == surveyed["conversation"]))
            assert replayed == surveyed["surveys"]
    finally:
        await engine.dispose()
    breached = {o["conversation_id"] for o in json.loads(sla.stdout)["outcomes"] if o["kind"] == "breached"}
    assert before["waiting"] in breached and before["answered"] not in breached


async def before_the_archive(hub: RunningHub) -> None:
    """The database as the version before the archive left it: migrated to 0010, with the
    projector's offsets of a log that is gone (ahead of any new, empty one)."""
    from alembic import command

    await reset_postgres(hub.db_url)
    cfg = store_db._alembic_config(hub.db_url)
    await asyncio.to_thread(command.upgrade, cfg, "0010")
    engine = store_db.make_engine(hub.db_url)
    try:
        async with engine.begin() as conn:
            from sqlalchemy import text

            for topic, ahead in ((topics.INBOUND.name, 17), (topics.CONVERSATIONS.name, 60), (topics.ROUTING.name, 9)):
                for partition in range(4):
                    await conn.execute(text("INSERT INTO projector_offsets (topic, partition, next_offset) VALUES (:t, :p, :o)"),
                                       {"t": topic, "p": partition, "o": ahead})
    finally:
        await engine.dispose()
