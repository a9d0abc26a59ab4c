"""The edges' and the worker's small reads of the read model (hub/store/lookups.py), on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from hub import events as ev
from hub.store import lookups
from hub.store.models import User
from tests.hub.store.test_projection import CONTACT, T0, Store, opened, received, store  # noqa: F401


async def test_which_conversation_of_a_contact_is_open_and_which_is_current(store: Store) -> None:  # noqa: F811
    await store.apply([opened("old", T0), received("old", "m1", T0), ev.ConversationResolved(at=T0 + timedelta(minutes=1), contact_id=CONTACT,
                       conversation_id="old", queue="support", by="alice"), opened("new", T0 + timedelta(minutes=2)),
                       received("new", "m2", T0 + timedelta(minutes=2)), opened("newest", T0 + timedelta(minutes=3))])
    await store.apply([ev.ConversationResolved(at=T0 + timedelta(minutes=4), contact_id=CONTACT, conversation_id="newest", queue="support", by="alice")])
    async with store.sessions() as s:
        assert await lookups.open_conversation(s, CONTACT) == "new"
        assert await lookups.current_conversation(s, CONTACT) == "new"  # the one still worked, before a later resolved one
        assert await lookups.open_conversation(s, "nobody") is None
        assert await lookups.linked_contact(s, "sms", "+989121234567") == CONTACT
        assert await lookups.linked_contact(s, "sms", "+989000000000") is None
        assert await lookups.conversation_of_messages(s, ["nope", "m2"]) == "new"
        assert await lookups.conversation_of_provider_ids(s, "sms", ["p-m1"]) == "old"
        assert await lookups.conversation_of_provider_ids(s, "email", ["p-m1"]) is None
        last = await lookups.last_inbound(s, "new", "sms")
        assert last is not None and last.id == "m2"


async def test_a_row_is_read_by_its_key_and_none_when_there_is_none(store: Store) -> None:  # noqa: F811
    await store.apply([opened("c1", T0), received("c1", "m1", T0),
                       ev.Escalated(id="esc-1", at=T0, contact_id=CONTACT, conversation_id="c1", ladder="complaint", level=1, reason="late")])
    async with store.sessions() as s, s.begin():
        s.add(User(username="alice", password_hash="x", role="agent", queues=[], capacity=5, created_at=T0))
    async with store.sessions() as s:
        conv, message, escalation, user = (await lookups.conversation(s, "c1"), await lookups.message(s, "m1"),
                                           await lookups.escalation(s, "esc-1"), await lookups.user(s, "alice"))
        assert conv is not None and conv.contact_id == CONTACT
        assert message is not None and message.conversation_id == "c1"
        assert escalation is not None and escalation.conversation_id == "c1" and escalation.ladder == "complaint"
        assert user is not None and user.role == "agent"
        assert (await lookups.conversation(s, "nope"), await lookups.message(s, "nope"), await lookups.escalation(s, "nope"),
                await lookups.user(s, "nobody")) == (None, None, None, None)


async def test_the_bytes_a_message_arrived_as_are_kept_once_and_read_by_its_id(store: Store) -> None:  # noqa: F811
    async with store.sessions() as s, s.begin():
        await lookups.keep_original(s, "mail-1", "email", "message/rfc822", b"From: a@x\r\n\r\nfirst", T0)
        await lookups.keep_original(s, "mail-1", "email", "message/rfc822", b"From: a@x\r\n\r\nsecond", T0)  # a redelivery
    async with store.sessions() as s:
        kept = await lookups.original(s, "mail-1")
        assert kept is not None and bytes(kept.content).endswith(b"first") and kept.size == len(b"From: a@x\r\n\r\nfirst")
        assert await lookups.original(s, "mail-2") is None
