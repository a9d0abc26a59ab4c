"""When a contact last wrote on a channel, across her conversations (a reply window counts
from it), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from hub import events as ev
from hub.store import lookups
from tests.hub.store.test_projection import CONTACT, T0, Store, opened, received, reply, store  # noqa: F401


async def test_the_latest_inbound_message_on_the_channel_in_any_conversation_counts(store: Store) -> None:  # noqa: F811
    await store.apply([
        opened("old", T0, channel="whatsapp"), received("old", "w1", T0, channel="whatsapp"),
        ev.ConversationResolved(at=T0 + timedelta(minutes=1), contact_id=CONTACT, conversation_id="old", queue="support", by="alice"),
        opened("new", T0 + timedelta(hours=2)), received("new", "s1", T0 + timedelta(hours=3)),  # SMS, later: not WhatsApp
        reply("new", "r1", T0 + timedelta(hours=4)),  # ours: not the customer's
        received("other", "x1", T0 + timedelta(hours=5), channel="whatsapp", contact="someone-else"),
    ])
    async with store.sessions() as s:
        assert await lookups.last_inbound_at(s, CONTACT, "whatsapp") == T0
        assert await lookups.last_inbound_at(s, CONTACT, "sms") == T0 + timedelta(hours=3)
        assert await lookups.last_inbound_at(s, CONTACT, "telegram") is None
    await store.apply([received("new", "w2", T0 + timedelta(hours=6), channel="whatsapp")])
    async with store.sessions() as s:
        assert await lookups.last_inbound_at(s, CONTACT, "whatsapp") == T0 + timedelta(hours=6)
