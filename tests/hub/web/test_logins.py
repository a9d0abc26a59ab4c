"""The login limiter on SQLite and PostgreSQL: slots are taken before the password is
checked, atomically, per username and per address, and given back on success; and the
client's address behind a trusted proxy."""

from __future__ import annotations

import asyncio
import ipaddress

from aiohttp.test_utils import make_mocked_request

from hub.web.logins import USER_LIMIT, LoginLimiter, Refused, Slots, client_address
from tests.hub.store.test_projection import Store, store  # noqa: F401


async def test_thirty_guesses_at_once_for_one_user_take_five_slots(store: Store) -> None:  # noqa: F811
    limiter = LoginLimiter(store.sessions)
    taken = await asyncio.gather(*(limiter.take("Rita", f"10.0.0.{i}") for i in range(30)))
    slots = [t for t in taken if isinstance(t, Slots)]
    refused = [t for t in taken if isinstance(t, Refused)]
    assert len(slots) == USER_LIMIT and len(refused) == 30 - USER_LIMIT
    assert {r.scope for r in refused} == {"user"} and all(1 <= r.retry_after <= 60 for r in refused)
    assert isinstance(await limiter.take("RITA ", "10.9.9.9"), Refused)  # the username's case and spaces do not matter
    assert isinstance(await limiter.take("sara", "10.0.0.1"), Slots)  # another user is not locked out


async def test_sixty_usernames_from_one_address_take_thirty_slots(store: Store) -> None:  # noqa: F811
    limiter = LoginLimiter(store.sessions)
    taken = await asyncio.gather(*(limiter.take(f"user{i}", "203.0.113.7") for i in range(60)))
    assert sum(isinstance(t, Slots) for t in taken) == 30
    assert {t.scope for t in taken if isinstance(t, Refused)} == {"addr"}
    # a refused address gave its username's slot back: that user is not charged for it
    refused_user = next(f"user{i}" for i, t in enumerate(taken) if isinstance(t, Refused))
    for n in range(USER_LIMIT):
        assert isinstance(await limiter.take(refused_user, f"198.51.100.{n}"), Slots)


async def test_the_right_password_gives_the_slots_back(store: Store) -> None:  # noqa: F811
    limiter = LoginLimiter(store.sessions, address_limit=3)
    for address in ("10.1.1.1", "10.1.1.1", "10.1.1.3", "10.1.1.3"):
        assert isinstance(await limiter.take("rita", address), Slots)  # four failures kept
    right = await limiter.take("rita", "10.1.1.2")
    assert isinstance(right, Slots)
    await limiter.succeeded(right)
    for n in range(USER_LIMIT):  # the username's failures are cleared: five more tries
        assert isinstance(await limiter.take("rita", f"10.2.0.{n}"), Slots)
    assert isinstance(await limiter.take("rita", "10.2.0.9"), Refused)
    # the address's own failures stay: success does not reset what an address guessed elsewhere
    assert isinstance(await limiter.take("other", "10.1.1.1"), Slots)
    assert isinstance(await limiter.take("other2", "10.1.1.1"), Refused)
    assert isinstance(await limiter.take("other2", "10.1.1.2"), Slots)  # the right password's address slot was given back


def test_the_address_behind_a_trusted_proxy_is_the_last_untrusted_hop() -> None:
    proxies = (ipaddress.ip_network("10.0.0.0/8"),)

    def seen(peer: str, forwarded: str | None, trusted: tuple = proxies) -> str:  # type: ignore[type-arg]
        request = make_mocked_request("POST", "/api/v1/login", headers={"X-Forwarded-For": forwarded} if forwarded else {})
        request._transport_peername = (peer, 1234)  # type: ignore[attr-defined]
        return client_address(request.clone(remote=peer), trusted)

    assert seen("10.0.0.5", "198.51.100.7, 203.0.113.9, 10.0.0.6") == "203.0.113.9"
    assert seen("10.0.0.5", "198.51.100.7") == "198.51.100.7"
    assert seen("203.0.113.50", "198.51.100.7") == "203.0.113.50"  # not from a trusted proxy: the header is not believed
    assert seen("10.0.0.5", "198.51.100.7", ()) == "10.0.0.5"  # no proxies configured
    assert seen("10.0.0.5", "not-an-address") == "10.0.0.5"
    assert seen("10.0.0.5", None) == "10.0.0.5"
