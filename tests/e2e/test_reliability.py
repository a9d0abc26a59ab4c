"""Nothing lost, nothing doubled: duplicate frames, a worker killed mid-stream, poison events."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from hub.store.db import make_engine, sessionmaker
from hub.store.models import Conversation, DeadLetter, Message
from tests.e2e.test_chat_roundtrip import receive
from tests.support import PRODUCTION_SESSIONS, Hub, eventually

pytestmark = pytest.mark.integration


async def db_scalar(hub: Hub, stmt: Any) -> Any:
    engine = make_engine(hub.db_url)
    try:
        async with sessionmaker(engine)() as s:
            return await s.scalar(stmt)
    finally:
        await engine.dispose()


async def chat_once(hub: Hub, frame_id: str, text: str) -> None:
    """A new customer sends one chat message and waits until the hub says it is durable."""
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{hub.url}/chat/ws")
        await receive(ws, "hello")
        await ws.send_json({"type": "message", "id": frame_id, "text": text})
        await receive(ws, "ack")
        await ws.close()


async def count_reaches(hub: Hub, stmt: Any, n: int, timeout: float = 30.0) -> int:
    """Polls a COUNT until it is at least n; returns it."""

    async def check() -> Any:
        got = await db_scalar(hub, stmt)
        return got if got >= n else None

    return await eventually(check, timeout=timeout, interval=0.5)


async def test_same_frame_id_twice_is_acked_twice_and_stored_once(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{hub.url}/chat/ws")
        session = (await receive(ws, "hello"))["session"]
        for _ in range(2):
            await ws.send_json({"type": "message", "id": "dup-1", "text": "only once please"})
            assert (await receive(ws, "ack"))["id"] == "dup-1"
        await ws.send_json({"type": "message", "id": "dup-2", "text": "a second, different message"})
        await receive(ws, "ack")
        await ws.close()

        await count_reaches(hub, select(func.count()).select_from(Message).where(Message.text.in_(["only once please", "a second, different message"])), 2)
        # the second message arrived after the duplicate, so the duplicate had its chance
        assert await db_scalar(hub, select(func.count()).select_from(Message).where(Message.text == "only once please")) == 1
        ws = await http.ws_connect(f"{hub.url}/chat/ws?session={session}")
        history = (await receive(ws, "hello"))["history"]
        assert [m["text"] for m in history] == ["only once please", "a second, different message"]
        assert [m["id"] for m in history] == ["dup-1", "dup-2"]  # the widget's own ids: it can match pending ones
        await ws.close()


async def test_poison_event_goes_to_deadletter_and_the_stream_goes_on(hub: Hub) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=hub.broker.bootstrap, acks="all")
    await producer.start()
    try:
        # decodes as JSON but is no event the catalogue knows
        await producer.send_and_wait("inbound.messages", b'{"type":"InboundMessageAccepted","id":"poison-1"}', key=b"poison")
        await producer.send_and_wait("inbound.messages", b"\xff not json at all", key=b"poison")
    finally:
        await producer.stop()
    await chat_once(hub, "after-poison", "still flowing after poison")
    await count_reaches(hub, select(func.count()).select_from(Message).where(Message.text == "still flowing after poison"), 1)
    await count_reaches(hub, select(func.count()).select_from(DeadLetter).where(DeadLetter.source_topic == "inbound.messages"), 2)
    out = hub.cli("deadletter", "--json").stdout
    reasons = [d["reason"] for d in json.loads(out) if d["topic"] == "inbound.messages"]
    assert any("contact_id" in r for r in reasons), reasons  # the missing field is named
    assert any("not JSON" in r for r in reasons), reasons
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/metrics") as r:
        metrics = await r.text()
    counted = [line for line in metrics.splitlines() if line.startswith("hub_deadletters_total ")]
    assert counted and int(counted[0].split()[1]) >= 2, metrics


async def test_worker_killed_mid_stream_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    hub = await Hub(tmp_path, extra_env=PRODUCTION_SESSIONS).start()
    try:
        key = hub.cli("apikeys", "add", "loadtest").stdout.split()[0]
        total, senders = 2000, 50
        accepted: set[str] = set()
        sem = asyncio.Semaphore(40)
        killed = asyncio.Event()

        async def post(http: aiohttp.ClientSession, i: int) -> None:
            body = {"id": f"k-{i}", "from": f"kill-sender-{i % senders}", "name": "", "text": f"kill-test message {i}"}
            async with sem:
                for _ in range(200):  # a sender retries until the hub says it is durable
                    try:
                        async with http.post(f"{hub.url}/api/v1/inbound", json=body, headers={"X-Api-Key": key}) as r:
                            if r.status == 202:
                                accepted.add(body["id"])
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.2)
            if len(accepted) == total // 3 and not killed.is_set():
                killed.set()

        async with aiohttp.ClientSession() as http:
            sending = asyncio.gather(*(post(http, i) for i in range(total)))

            async def kill_and_restart() -> None:
                await killed.wait()
                hub.kill("worker")
                await asyncio.sleep(1.0)
                hub.spawn("worker")

            await asyncio.gather(sending, kill_and_restart())
        assert len(accepted) == total

        await count_reaches(hub, select(func.count()).select_from(Message).where(Message.text.like("kill-test message %")), total, timeout=180)
        await asyncio.sleep(3)  # let any late duplicate arrive before counting
        assert await db_scalar(hub, select(func.count()).select_from(Message).where(Message.text.like("kill-test message %"))) == total
        assert await db_scalar(hub, select(func.count(func.distinct(Message.text))).where(Message.text.like("kill-test message %"))) == total
        # replays after the kill must not open a second conversation for a sender
        assert await db_scalar(hub, select(func.count()).select_from(Conversation).where(Conversation.channel == "api")) == senders
        assert "worker ready" in hub.logs("worker")
    finally:
        hub.stop()


async def test_replay_rebuilds_the_read_model_from_the_log(hub: Hub) -> None:
    await chat_once(hub, "replay-1", "remember me after a rebuild")
    await count_reaches(hub, select(func.count()).select_from(Message).where(Message.text == "remember me after a rebuild"), 1)
    before_messages = await db_scalar(hub, select(func.count()).select_from(Message))
    before_convs = await db_scalar(hub, select(func.count()).select_from(Conversation))
    engine = make_engine(hub.db_url)
    try:
        async with sessionmaker(engine)() as s, s.begin():
            await s.execute(Message.__table__.delete())
            await s.execute(Conversation.__table__.delete())
    finally:
        await engine.dispose()
    assert await db_scalar(hub, select(func.count()).select_from(Message)) == 0
    out = hub.cli("replay").stdout
    assert "replayed" in out
    assert await db_scalar(hub, select(func.count()).select_from(Message)) == before_messages
    assert await db_scalar(hub, select(func.count()).select_from(Conversation)) == before_convs
