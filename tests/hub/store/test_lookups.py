"""The edges' and the worker's small reads of the read model (hub/store/lookups.py), on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from hub import events as ev
from hub.store import lookups
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
