"""Messages from many SMS senders while an agent replies, and the worker SIGKILLed again and
again; then the count of what was lost, duplicated, split and sent twice. The e2e test
(tests/e2e/test_worker_kills.py) runs it small; `make chaos` (bench/chaos.py) runs it big."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from hub import events as ev
from hub import topics
from hub.store.db import make_engine, sessionmaker
from hub.store.models import Conversation, Message
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.support.hub import Hub, Restarts
from tests.support.waiting import eventually

SID, TOKEN, PUBLIC = "AC" + "c" * 32, "chaos-token", "https://chaos.example.com"


@dataclass
class Figures:
    messages: int
    accepted: int = 0
    stored: int = 0
    distinct_stored: int = 0
    senders: int = 0
    conversations: int = 0
    replies_accepted: int = 0
    replies_sent: int = 0
    replies_sent_twice: int = 0
    replies_unsent: int = 0
    marked_repeated: int = 0
    kills: int = 0
    restarts: int = 0  # the worker ended on its own (its stall watch) and was started again, as `contacthub run` does
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.accepted - self.distinct_stored

    @property
    def duplicated(self) -> int:
        return self.stored - self.distinct_stored

    @property
    def split(self) -> int:
        """Conversations beyond one per sender."""
        return self.conversations - self.senders

    def line(self) -> str:
        return (f"{self.messages} messages ({self.accepted} accepted) from {self.senders} senders, {self.kills} worker kills ({self.restarts} ended on their own) in {self.seconds:.0f} s: "
                f"lost {self.lost}, duplicated {self.duplicated}, split {self.split} (conversations {self.conversations}); "
                f"replies {self.replies_accepted} accepted, {self.replies_sent} sent, {self.replies_sent_twice} sent twice "
                f"({self.marked_repeated} marked repeated), {self.replies_unsent} not sent")


def sms_env(twilio: FakeTwilio) -> dict[str, str]:
    return {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_API_BASE": twilio.url,
            "HUB_PUBLIC_URL": PUBLIC}


async def run(hub: Hub, twilio: FakeTwilio, *, messages: int, senders: int, kills: int = 0, kill_every: tuple[float, float] | None = None,
              concurrency: int = 40, settle_timeout: float = 300) -> Figures:
    """Sends `messages` signed SMS webhooks from `senders` numbers; an agent replies to one
    conversation after another meanwhile. The worker is killed (and started again) `kills`
    times, evenly over the messages, or every `kill_every` (min, max) seconds."""
    figures = Figures(messages=messages, senders=senders)
    run_id = uuid.uuid4().hex[:6]
    validator = RequestValidator(TOKEN)
    accepted: set[int] = set()
    replies: list[str] = []
    done = asyncio.Event()
    started = time.monotonic()
    marks = [messages * (k + 1) // (kills + 1) for k in range(kills)]
    kill_now = asyncio.Event()
    killing = asyncio.Lock()
    restarts = Restarts(hub, lock=killing).start()  # what `contacthub run` does for a worker that ended itself
    like = f"chaos {run_id} message %"
    engine = make_engine(hub.db_url)

    async def stored() -> Any:
        async with sessionmaker(engine)() as s:
            n = int(await s.scalar(select(func.count()).select_from(Message).where(Message.text.like(like))) or 0)
        return n if n >= len(accepted) else None

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        async with http.post(f"{hub.url}/api/v1/login", json={"username": "alice", "password": "alice-pw"}) as r:
            agent = {"Authorization": f"Bearer {(await r.json())['token']}"}
        sem = asyncio.Semaphore(concurrency)

        async def send(i: int) -> None:
            form = {"MessageSid": f"SM{run_id}{i:010d}", "AccountSid": SID, "From": f"+98912{2000000 + i % senders}", "To": "+15005550006",
                    "NumMedia": "0", "Body": f"chaos {run_id} message {i}"}
            headers = {"X-Twilio-Signature": validator.compute_signature(f"{PUBLIC}/webhooks/twilio/sms", form)}
            async with sem:
                for _ in range(600):  # Twilio retries until the hub answers 2xx
                    try:
                        async with http.post(f"{hub.url}/webhooks/twilio/sms", data=form, headers=headers) as r:
                            if r.status == 200:
                                accepted.add(i)
                                break
                    except (aiohttp.ClientError, asyncio.TimeoutError):
                        pass
                    await asyncio.sleep(0.5)
            if marks and len(accepted) >= marks[0] and not kill_now.is_set():
                marks.pop(0)
                kill_now.set()

        async def reply_meanwhile() -> None:
            n = 0
            while not done.is_set():
                try:
                    async with http.get(f"{hub.url}/api/v1/conversations", headers=agent) as r:
                        convs = (await r.json()).get("conversations", []) if r.status == 200 else []
                    for conv in random.sample(convs, min(5, len(convs))):
                        text = f"chaos {run_id} reply {n}"
                        async with http.post(f"{hub.url}/api/v1/conversations/{conv['id']}/replies", json={"text": text}, headers=agent) as r:
                            if r.status == 202:
                                replies.append(text)
                        n += 1
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                    pass
                await asyncio.sleep(0.2)

        async def killer() -> None:
            while not done.is_set():
                if kill_every:
                    try:
                        await asyncio.wait_for(done.wait(), random.uniform(*kill_every))
                        return
                    except asyncio.TimeoutError:
                        pass
                else:
                    waiting = asyncio.ensure_future(kill_now.wait())
                    await asyncio.wait([waiting, asyncio.ensure_future(done.wait())], return_when=asyncio.FIRST_COMPLETED)
                    if not kill_now.is_set():
                        waiting.cancel()
                        return
                    kill_now.clear()
                async with killing:
                    hub.kill("worker")
                    figures.kills += 1
                    await asyncio.sleep(1.0)
                    hub.spawn("worker")
                    await hub.wait_ready(timeout=120 if kill_every is None else settle_timeout)  # the next kill hits a worker that holds its partitions

        async def sending() -> None:
            await asyncio.gather(*(send(i) for i in range(messages)))
            if kill_every:  # the web role takes them faster than the worker handles them: kill on until it has
                with contextlib.suppress(AssertionError, TimeoutError):
                    await eventually(stored, timeout=settle_timeout, interval=1.0)
            while kill_every is None and (marks or kill_now.is_set()):  # every planned kill happens
                if marks and not kill_now.is_set():
                    marks.pop(0)
                    kill_now.set()
                await asyncio.sleep(0.2)
            done.set()

        helpers = [asyncio.ensure_future(reply_meanwhile()), asyncio.ensure_future(killer())]
        await sending()
        await asyncio.gather(*helpers)

    figures.accepted = len(accepted)
    figures.replies_accepted = len(replies)
    try:
        try:
            await eventually(stored, timeout=settle_timeout, interval=1.0)
        except (AssertionError, TimeoutError) as exc:
            figures.notes.append(f"not all stored in {settle_timeout:.0f} s: {exc}")

        def sent() -> Counter[str]:
            return Counter(s["Body"] for s in twilio.sent if s["Body"].startswith(f"chaos {run_id} reply"))

        async def all_sent() -> Any:
            return True if set(replies) <= set(sent()) else None

        try:
            await eventually(all_sent, timeout=settle_timeout, interval=1.0)
        except (AssertionError, TimeoutError):
            figures.notes.append("not every reply sent")
        await asyncio.sleep(3)  # a late duplicate would show now
        async with sessionmaker(engine)() as s:
            figures.stored = int(await s.scalar(select(func.count()).select_from(Message).where(Message.text.like(like))) or 0)
            figures.distinct_stored = int(await s.scalar(select(func.count(func.distinct(Message.text))).where(Message.text.like(like))) or 0)
            figures.conversations = int(await s.scalar(select(func.count()).select_from(Conversation).where(Conversation.channel == "sms")) or 0)
    finally:
        await restarts.stop()
        figures.restarts = restarts.count
        await engine.dispose()
    counts = sent()
    figures.replies_sent = sum(1 for t in replies if counts[t] >= 1)
    figures.replies_sent_twice = sum(1 for t in replies if counts[t] > 1)
    figures.replies_unsent = sum(1 for t in replies if counts[t] == 0)
    figures.marked_repeated = await repeated_deliveries(hub)
    figures.seconds = time.monotonic() - started
    return figures


async def repeated_deliveries(hub: Hub) -> int:
    """MessageDelivered events marked `repeated`, read from the whole log."""
    consumer = AIOKafkaConsumer(topics.CONVERSATIONS.name, bootstrap_servers=hub.broker.bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    found = 0
    try:
        quiet = 0
        while quiet < 3:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            if not batch:
                quiet += 1
                continue
            quiet = 0
            for records in batch.values():
                for record in records:
                    if record.value and ev.peek_type(record.value) == "MessageDelivered" and b'"repeated":true' in record.value.replace(b" ", b""):
                        found += 1
    finally:
        await consumer.stop()
    return found
