"""Sign-in security against a real hub: failed logins are rate limited per username and
address, the session cookie is HttpOnly and SameSite=Strict, and a state change that rides
on the cookie alone needs the CSRF token given at login (a cross-site form is refused)."""

from __future__ import annotations

from http.cookies import SimpleCookie

import aiohttp
import pytest

from tests.support import Hub

pytestmark = pytest.mark.integration


async def _login(http: aiohttp.ClientSession, hub: Hub, username: str, password: str) -> aiohttp.ClientResponse:
    async with http.post(f"{hub.url}/api/v1/login", json={"username": username, "password": password}) as r:
        await r.read()
        return r


async def test_failed_logins_are_limited_and_a_success_resets_the_count(hub: Hub) -> None:
    hub.cli("users", "add", "rita", "--role", "agent", "--password", "rita-pw")
    async with aiohttp.ClientSession() as http:
        for _ in range(4):
            assert (await _login(http, hub, "rita", "wrong")).status == 401
        assert (await _login(http, hub, "rita", "rita-pw")).status == 200  # clears the four failures
        for _ in range(5):
            assert (await _login(http, hub, "rita", "wrong")).status == 401
        async with http.post(f"{hub.url}/api/v1/login", json={"username": "RITA", "password": "rita-pw"}) as r:
            assert r.status == 429, await r.text()  # even the right password waits; the username's case does not matter
            assert 1 <= int(r.headers["Retry-After"]) <= 60
            assert (await r.json())["error"]["code"] == "too_many_attempts"
        assert (await _login(http, hub, "alice", "alice-pw")).status == 200  # another user is not locked out


async def test_session_cookie_is_httponly_and_samesite_strict(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hub.url}/api/v1/login", json={"username": "alice", "password": "alice-pw"}) as r:
            assert r.status == 200
            raw = r.headers.getall("Set-Cookie")
            body = await r.json()
            assert "Server-Timing" not in r.headers  # its time would tell a guesser whether the password was checked
    cookie = SimpleCookie()
    cookie.load(raw[0])
    morsel = cookie["hub_session"]
    assert morsel.value == body["token"]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["path"] == "/"


async def test_a_cookie_signed_request_without_the_csrf_token_is_refused(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hub.url}/api/v1/login", json={"username": "alice", "password": "alice-pw"}) as r:
            login = await r.json()
        cookie = {"Cookie": f"hub_session={login['token']}"}
        url = f"{hub.url}/api/v1/me/availability"
        # What a cross-site page can send: a form post (urlencoded or text/plain shaped like JSON).
        async with http.post(url, data="online=false", headers={**cookie, "Origin": "http://evil.example",
                                                                 "Content-Type": "application/x-www-form-urlencoded"}) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "csrf"
        async with http.post(url, data='{"online": false}', headers={**cookie, "Content-Type": "text/plain"}) as r:
            assert r.status == 403
        async with http.post(url, json={"online": False}, headers={**cookie, "X-CSRF-Token": "0" * 64}) as r:
            assert r.status == 403
        # Reading with the cookie needs no token; writing with it needs the one from login.
        async with http.get(f"{hub.url}/api/v1/me", headers=cookie) as r:
            assert r.status == 200 and (await r.json())["user"]["username"] == "alice"
        async with http.post(url, json={"online": False}, headers={**cookie, "X-CSRF-Token": login["csrf_token"]}) as r:
            assert r.status == 200, await r.text()
        # A bearer token is never attached by a browser on its own: no CSRF token needed.
        async with http.post(url, json={"online": False}, headers={"Authorization": f"Bearer {login['token']}"}) as r:
            assert r.status == 200, await r.text()
