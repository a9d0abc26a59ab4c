"""Sign-in limits and sessions that end, against a real hub: concurrent guesses are counted
before they are checked (per username and per address behind a trusted proxy), and a role
change, a password change, a disable, a removal or a sign-out ends the sessions it should,
closing their live sockets at once; a revoked API key is refused at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest

from tests.support import Hub

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def proxied_hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    """The tests reach the hub as a proxy would: from 127.0.0.1 with X-Forwarded-For."""
    h = Hub(Path(tmp_path_factory.mktemp("sessions")), extra_env={"HUB_TRUSTED_PROXIES": "127.0.0.1/32"})
    try:
        await h.start()
        h.cli("users", "add", "root", "--role", "admin", "--password", "root-pw")
        yield h
    finally:
        h.stop()


async def login(http: aiohttp.ClientSession, hub: Hub, username: str, password: str, client: str = "192.0.2.1") -> tuple[int, Any]:
    async with http.post(f"{hub.url}/api/v1/login", json={"username": username, "password": password},
                         headers={"X-Forwarded-For": client}) as r:
        return r.status, await r.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def me(http: aiohttp.ClientSession, hub: Hub, token: str) -> int:
    async with http.get(f"{hub.url}/api/v1/me", headers=bearer(token)) as r:
        return r.status


async def closed_by_the_hub(socket: aiohttp.ClientWebSocketResponse) -> bool:
    """Reads frames until the hub closes the socket (within 30 s)."""
    async with asyncio.timeout(30):
        while True:
            msg = await socket.receive()
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return True


async def test_thirty_guesses_at_once_check_at_most_five(proxied_hub: Hub) -> None:
    proxied_hub.cli("users", "add", "gina", "--password", "gina-pw")
    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(*(login(http, proxied_hub, "gina", f"guess-{i}", f"198.51.100.{i}") for i in range(30)))
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == 30, statuses
    assert statuses.count(401) >= 1  # some were checked: the limit is not a wall


async def test_sixty_usernames_from_one_address_check_at_most_thirty(proxied_hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(*(login(http, proxied_hub, f"junk-{i}", "x", "203.0.113.66") for i in range(60)))
        statuses = [status for status, _ in answers]
        assert statuses.count(401) <= 30 and statuses.count(401) + statuses.count(429) == 60, statuses
        # another address is not held up by that one
        assert (await login(http, proxied_hub, "alice", "alice-pw", "203.0.113.67"))[0] == 200


async def test_a_role_or_password_change_a_disable_and_a_removal_end_the_sessions(proxied_hub: Hub) -> None:
    hub = proxied_hub
    hub.cli("users", "add", "lena", "--password", "lena-pw")
    async with aiohttp.ClientSession() as http:
        _, admin = await login(http, hub, "root", "root-pw", "192.0.2.10")
        status, first = await login(http, hub, "lena", "lena-pw", "192.0.2.11")
        assert status == 200 and await me(http, hub, first["token"]) == 200
        socket = await http.ws_connect(f"{hub.url}/api/v1/live?token={first['token']}")

        async with http.patch(f"{hub.url}/api/v1/admin/users/lena", json={"role": "lead"}, headers=bearer(admin["token"])) as r:
            assert r.status == 200 and (await r.json())["user"]["role"] == "lead"
        assert await me(http, hub, first["token"]) == 401  # the agent's token does not reach lead routes, or any
        assert await closed_by_the_hub(socket)
        await socket.close()

        _, second = await login(http, hub, "lena", "lena-pw", "192.0.2.11")
        async with http.get(f"{hub.url}/api/v1/me", headers=bearer(second["token"])) as r:
            assert (await r.json())["user"] == {"username": "lena", "role": "lead"}
        socket = await http.ws_connect(f"{hub.url}/api/v1/live?token={second['token']}")
        hub.cli("users", "set-password", "lena", "--password", "lena-new-pw")  # another process: told on `live`
        assert await me(http, hub, second["token"]) == 401
        assert await closed_by_the_hub(socket)
        assert (await login(http, hub, "lena", "lena-pw", "192.0.2.12"))[0] == 401

        _, third = await login(http, hub, "lena", "lena-new-pw", "192.0.2.13")
        async with http.patch(f"{hub.url}/api/v1/admin/users/lena", json={"disabled": True}, headers=bearer(admin["token"])) as r:
            assert r.status == 200
        assert await me(http, hub, third["token"]) == 401
        assert (await login(http, hub, "lena", "lena-new-pw", "192.0.2.14"))[0] == 401  # disabled: cannot sign in
        hub.cli("users", "enable", "lena")
        status, fourth = await login(http, hub, "lena", "lena-new-pw", "192.0.2.15")
        assert status == 200

        async with http.delete(f"{hub.url}/api/v1/admin/users/lena", headers=bearer(admin["token"])) as r:
            assert r.status == 200
        assert await me(http, hub, fourth["token"]) == 401
        async with http.get(f"{hub.url}/api/v1/admin/users", headers=bearer(admin["token"])) as r:
            assert "lena" not in {u["username"] for u in (await r.json())["users"]}
        async with http.patch(f"{hub.url}/api/v1/admin/users/root", json={"role": "agent"}, headers=bearer(admin["token"])) as r:
            assert r.status == 409 and "last admin" in (await r.json())["error"]["message"]
        async with http.get(f"{hub.url}/api/v1/admin/users", headers=bearer(first["token"])) as r:
            assert r.status == 401


async def test_sign_out_ends_that_session_only_and_its_cookie(proxied_hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        _, kept = await login(http, proxied_hub, "alice", "alice-pw", "192.0.2.20")
        async with http.post(f"{proxied_hub.url}/api/v1/login", json={"username": "alice", "password": "alice-pw"},
                             headers={"X-Forwarded-For": "192.0.2.21"}) as r:
            cookie_login = await r.json()
        cookie = {"Cookie": f"hub_session={cookie_login['token']}"}
        socket = await http.ws_connect(f"{proxied_hub.url}/api/v1/live?presence=0", headers=cookie)
        async with http.post(f"{proxied_hub.url}/api/v1/logout", headers={**cookie, "X-CSRF-Token": cookie_login["csrf_token"]}) as r:
            assert r.status == 200
            assert "hub_session=" in r.headers.get("Set-Cookie", "")  # cleared
        async with http.get(f"{proxied_hub.url}/api/v1/me", headers=cookie) as r:
            assert r.status == 401
        assert await closed_by_the_hub(socket)
        assert await me(http, proxied_hub, kept["token"]) == 200  # her other session stands


async def test_a_revoked_api_key_is_refused_at_once(proxied_hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        _, admin = await login(http, proxied_hub, "root", "root-pw", "192.0.2.30")
        async with http.post(f"{proxied_hub.url}/api/v1/admin/api-keys", json={"name": "shop"}, headers=bearer(admin["token"])) as r:
            assert r.status == 201
            key = (await r.json())["key"]
        message = {"id": "k-1", "from": "shop-user", "text": "hello"}
        async with http.post(f"{proxied_hub.url}/api/v1/inbound", json=message, headers={"X-Api-Key": key}) as r:
            assert r.status == 202  # and now the key is in this web process's cache
        async with http.delete(f"{proxied_hub.url}/api/v1/admin/api-keys/shop", headers=bearer(admin["token"])) as r:
            assert r.status == 200
        async with http.post(f"{proxied_hub.url}/api/v1/inbound", json={**message, "id": "k-2"}, headers={"X-Api-Key": key}) as r:
            assert r.status == 401
        async with http.get(f"{proxied_hub.url}/api/v1/admin/api-keys", headers=bearer(admin["token"])) as r:
            assert (await r.json())["api_keys"] == []
