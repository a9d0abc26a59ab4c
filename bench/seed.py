"""A read model with many conversations, written straight into the database (bulk inserts
through the SQLAlchemy tables, after the hub's own migrations), for timing the pages.

Going through the broker would take minutes for 10,000 conversations and would time the
pipeline, not the pages; the rows have the shapes the projector writes (hub/store/projection.py).
A fixed random seed gives the same data on every run and on both databases."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import insert

from hub.auth import hash_password
from hub.events import derived_id, utcnow
from hub.store import db
from hub.store.models import Contact, Conversation, Escalation, Identity, Message, User

CHANNELS = ("sms", "email", "telegram", "web", "api")
QUEUES = ("support", "sales", "billing")
# The first is a lead, so the page bench can sign in as someone who also holds conversations.
AGENTS = ("lead01", *(f"agent{n:02d}" for n in range(2, 21)))
BUSY_MESSAGES = 200  # one conversation much longer than the rest: the detail view's worst case
CHUNK = 2000  # rows per executemany: well under SQLite's and asyncpg's parameter limits
WORDS = ("order", "delivery", "refund", "invoice", "سفارش", "ارسال", "پرداخت", "لطفا", "please", "help", "today", "کد", "tracking")


@dataclass
class Seeded:
    """What the seeder wrote, counted as it wrote it (the test counts the tables again)."""

    conversations: int = 0
    contacts: int = 0
    identities: int = 0
    messages: int = 0
    escalations: int = 0
    open_escalations: int = 0
    with_sla: int = 0
    complaints: int = 0
    agents: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)
    by_queue: Counter[str] = field(default_factory=Counter)
    unassigned: int = 0
    busy_conversation: str = ""
    busy_contact: str = ""
    busy_messages: int = 0
    escalation_id: str = ""

    def summary(self) -> str:
        return (f"{self.conversations:,} conversations ({', '.join(f'{k} {v:,}' for k, v in sorted(self.by_status.items()))}), "
                f"{self.contacts:,} contacts, {self.identities:,} identities, {self.messages:,} messages, "
                f"{self.complaints:,} complaints, {self.with_sla:,} with SLA clocks, {self.escalations:,} escalations "
                f"({self.open_escalations:,} open), {self.agents} agents")


def _address(rng: random.Random, channel: str, n: int) -> str:
    if channel == "sms":
        return f"+98912{1000000 + n:07d}"
    if channel == "email":
        return f"customer{n}@example.com"
    if channel == "telegram":
        return str(100000000 + n)
    if channel == "web":
        return f"{rng.getrandbits(64):016x}"
    return f"shop-user-{n}"


def _clock(rng: random.Random, start: datetime, minutes: int, done: datetime | None, now: datetime) -> dict[str, Any]:
    due = start + timedelta(minutes=minutes)
    met = done if done is not None and done <= due + timedelta(minutes=minutes) else None
    late = (met or now) > due
    return {"started_at": start.isoformat(), "due_at": due.isoformat(),
            "warned_at": (start + timedelta(minutes=minutes * 0.8)).isoformat() if late or rng.random() < 0.2 else None,
            "breached_at": due.isoformat() if late else None, "met_at": met.isoformat() if met else None,
            "stopped_at": None, "paused": False}


class _Builder:
    def __init__(self, rng: random.Random, now: datetime, days: int) -> None:
        self.rng, self.now, self.days = rng, now, days
        self.out = Seeded()
        self.contacts: list[dict[str, Any]] = []
        self.identities: list[dict[str, Any]] = []
        self.channels_of: dict[str, list[str]] = {}
        self.conversations: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.escalations: list[dict[str, Any]] = []

    def contact(self, n: int) -> None:
        rng = self.rng
        chans = rng.sample(CHANNELS, rng.choice((1, 1, 1, 2, 2, 3)))
        cid = derived_id("contact", f"pagebench:{n}")
        self.contacts.append({"id": cid, "name": rng.choice(("Sara", "Ali", "Maryam", "Reza", "John", "مریم", "علی", "سارا")) + f" {n}",
                              "created_at": self.now - timedelta(days=self.days + 1)})
        for ch in chans:
            self.identities.append({"channel": ch, "address": _address(rng, ch, n), "contact_id": cid})
        self.channels_of[cid] = chans

    def conversation(self, n: int, messages: int) -> dict[str, Any]:
        rng, now = self.rng, self.now
        contact = self.contacts[rng.randrange(len(self.contacts))]["id"]
        channel = rng.choice(self.channels_of[contact])
        created = now - timedelta(days=rng.uniform(0, self.days))
        status = rng.choices(("open", "pending", "resolved"), (30, 10, 60))[0]
        complaint = rng.random() < 0.06
        assignee = rng.choice(AGENTS) if status == "resolved" or rng.random() < 0.7 else None
        cid = f"conv-{n:06d}-{rng.getrandbits(32):08x}"
        at = created
        msgs: list[dict[str, Any]] = []
        first_reply: datetime | None = None
        for i in range(messages):
            direction = "in" if i == 0 else rng.choices(("in", "out", "note"), (45, 45, 10))[0]
            at = min(at + timedelta(minutes=rng.uniform(0.5, 90)), now)
            if direction == "out" and first_reply is None:
                first_reply = at
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25)))
            msgs.append({"id": f"{cid}-m{i:03d}", "conversation_id": cid, "direction": direction,
                         "channel": "note" if direction == "note" else channel, "text": f"{words} #{n}",
                         "author": (assignee or "agent01") if direction != "in" else "customer", "at": at,
                         "delivery": rng.choice(("sent", "delivered", "delivered", "failed")) if direction == "out" else None,
                         "error": None, "provider_id": "", "attachments": [], "meta": {}})
        last_out = max((i for i, m in enumerate(msgs) if m["direction"] == "out"), default=-1)
        waiting = next((m["at"] for m in msgs[last_out + 1:] if m["direction"] == "in"), None)
        resolved_at = at + timedelta(minutes=rng.uniform(1, 120)) if status == "resolved" else None
        sla: dict[str, Any] = {}
        if rng.random() < 0.6:
            sla = {"policy": "complaint" if complaint else "default",
                   "first_response": _clock(rng, created, 10 if complaint else 60, first_reply, now),
                   "next_response": None,
                   "resolution": _clock(rng, created, 24 * 60, resolved_at, now)}
        row = {"id": cid, "contact_id": contact, "status": status, "complaint": complaint,
               "priority": "high" if complaint else rng.choices(("low", "normal", "urgent"), (15, 80, 5))[0],
               "queue": rng.choices(QUEUES, (60, 25, 15))[0], "assignee": assignee, "channel": channel,
               "subject": f"Order {n}" if channel == "email" else "", "waiting_since": None if status == "resolved" else waiting,
               "last_message_at": at, "created_at": created, "resolved_at": resolved_at, "context": {}, "sla": sla}
        self.conversations.append(row)
        self.messages.extend(msgs)
        if complaint or (sla and sla["first_response"]["breached_at"] and rng.random() < 0.1):
            self.escalate(row)
        o = self.out
        o.by_status[status] += 1
        o.by_channel[channel] += 1
        o.by_queue[row["queue"]] += 1
        o.complaints += complaint
        o.with_sla += bool(sla)
        o.unassigned += assignee is None
        return row

    def escalate(self, conv: dict[str, Any]) -> None:
        rng = self.rng
        for level in range(1, rng.choice((1, 1, 2, 3)) + 1):
            at = conv["created_at"] + timedelta(hours=level)
            acked = conv["status"] == "resolved" or rng.random() < 0.5
            self.escalations.append({
                "id": derived_id("pagebench-escalation", conv["id"], str(level)), "conversation_id": conv["id"],
                "contact_id": conv["contact_id"], "ladder": "unresolved-complaint" if conv["complaint"] else "first-response-breach",
                "level": level, "reason": "complaint unresolved" if conv["complaint"] else "first response breached",
                "notify": ["role:lead" if level == 1 else "role:manager"],
                "notified": [{"user": "lead01", "channel": "email", "at": at.isoformat(), "ok": True, "error": None}],
                "created_at": at, "acknowledged_by": "lead01" if acked else None, "acknowledged_at": at + timedelta(minutes=5) if acked else None,
            })
            self.out.open_escalations += not acked


def build(conversations: int, *, seed: int = 7, days: int = 60, now: datetime | None = None) -> _Builder:
    """Rows for `conversations` conversations over the last `days` days: about 3 in 10 as
    many contacts, 1-3 identities each, 1-9 messages each (5 on average) and one busy one."""
    rng = random.Random(seed)
    b = _Builder(rng, now or utcnow(), days)
    for n in range(max(1, conversations * 3 // 10)):
        b.contact(n)
    for n in range(conversations):
        b.conversation(n, BUSY_MESSAGES if n == 0 else rng.randint(1, 9))
    busy = b.conversations[0]
    o = b.out
    o.busy_conversation, o.busy_contact, o.busy_messages = busy["id"], busy["contact_id"], BUSY_MESSAGES
    o.escalation_id = b.escalations[0]["id"] if b.escalations else ""
    o.conversations, o.contacts, o.identities = len(b.conversations), len(b.contacts), len(b.identities)
    o.messages, o.escalations, o.agents = len(b.messages), len(b.escalations), len(AGENTS)
    return b


def _chunks(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(rows), CHUNK):
        yield rows[i:i + CHUNK]


async def seed(url: str, conversations: int, *, password: str | None = None, seed: int = 7, days: int = 60,
               now: datetime | None = None) -> Seeded:
    """Applies the migrations, then writes the rows in one transaction. The agents share
    one hash of `password` (one bcrypt round, not twenty); without it nobody can sign in as them."""
    await db.migrate(url)
    b = build(conversations, seed=seed, days=days, now=now)
    hashed = hash_password(password) if password else "!"
    agents = [{"username": a, "password_hash": hashed, "role": "lead" if a.startswith("lead") else "agent", "email": None, "telegram": None, "phone": None,
               "queues": list(QUEUES), "capacity": 30, "created_at": b.now} for a in AGENTS]
    engine = db.make_engine(url)
    try:
        async with db.sessionmaker(engine)() as s, s.begin():
            for model, rows in ((User, agents), (Contact, b.contacts), (Identity, b.identities), (Conversation, b.conversations),
                                (Message, b.messages), (Escalation, b.escalations)):
                for part in _chunks(rows):
                    await s.execute(insert(model.__table__), part)
    finally:
        await engine.dispose()
    return b.out
