"""Canned responses over the API: leads save and delete them, agents list them; bad input,
duplicates and missing roles answer with clear JSON errors."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.support import Hub

pytestmark = pytest.mark.integration


async def _call(http: aiohttp.ClientSession, method: str, url: str, auth: dict[str, str] | None, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, url, headers=auth or {}, json=body) as r:
        return r.status, await r.json()


async def test_a_lead_saves_and_deletes_and_an_agent_lists_canned_responses(hub: Hub) -> None:
    hub.cli("users", "add", "lena", "--role", "lead", "--password", "lena-pw")
    base = f"{hub.url}/api/v1/canned"
    async with aiohttp.ClientSession() as http:
        lead = await hub.login(http, "lena", "lena-pw")
        agent = await hub.login(http)
        text = "سلام {{customer.name}}، I am {{agent.name}}; ticket {{conversation.id}} <b>ok</b>"
        status, made = await _call(http, "POST", base, lead, {"shortcut": "Hello", "title": "Greeting", "text": text})
        assert status == 201, made
        assert (made["shortcut"], made["title"], made["text"], made["created_by"]) == ("hello", "Greeting", text, "lena")
        status, made = await _call(http, "POST", base, lead, {"shortcut": "تشکر", "text": "ممنون از شما"})
        assert status == 201 and made["title"] == "تشکر"  # no title: the shortcut stands in

        status, listed = await _call(http, "GET", base, agent)
        assert status == 200
        by_shortcut = {c["shortcut"]: c for c in listed["canned"]}
        assert by_shortcut["hello"]["text"] == text  # stored as written: placeholders are the browser's job
        assert "تشکر" in by_shortcut

        status, err = await _call(http, "POST", base, lead, {"shortcut": "HELLO", "text": "again"})
        assert (status, err["error"]["code"]) == (409, "duplicate")

        # leads edit the title and text in place; the shortcut (what agents type) stays
        status, edited = await _call(http, "PUT", f"{base}/HELLO", lead, {"title": "Hi", "text": "درود {{customer.name}}"})
        assert status == 200, edited
        assert (edited["shortcut"], edited["title"], edited["text"]) == ("hello", "Hi", "درود {{customer.name}}")
        status, listed = await _call(http, "GET", base, agent)
        assert {c["shortcut"]: c["text"] for c in listed["canned"]}["hello"] == "درود {{customer.name}}"
        status, err = await _call(http, "PUT", f"{base}/hello", agent, {"text": "x"})
        assert (status, err["error"]["code"]) == (403, "forbidden")
        status, err = await _call(http, "PUT", f"{base}/hello", lead, {"text": ""})
        assert status == 400
        status, err = await _call(http, "PUT", f"{base}/nobody", lead, {"text": "x"})
        assert (status, err["error"]["code"]) == (404, "not_found")

        status, gone = await _call(http, "DELETE", f"{base}/hello", lead)
        assert (status, gone) == (200, {"deleted": "hello"})
        status, listed = await _call(http, "GET", base, agent)
        assert "hello" not in {c["shortcut"] for c in listed["canned"]}
        status, err = await _call(http, "DELETE", f"{base}/hello", lead)
        assert (status, err["error"]["code"]) == (404, "not_found")


async def test_bad_input_and_roles_are_refused_with_json_errors(hub: Hub) -> None:
    hub.cli("users", "add", "leo", "--role", "lead", "--password", "leo-pw")
    base = f"{hub.url}/api/v1/canned"
    async with aiohttp.ClientSession() as http:
        lead = await hub.login(http, "leo", "leo-pw")
        agent = await hub.login(http)
        cases = [
            ({"shortcut": "", "text": "x"}, 400),
            ({"shortcut": "has space", "text": "x"}, 400),
            ({"shortcut": "/slash", "text": "x"}, 400),
            ({"shortcut": "x" * 33, "text": "x"}, 400),
            ({"shortcut": 7, "text": "x"}, 400),
            ({"shortcut": "ok1"}, 400),
            ({"shortcut": "ok1", "text": "   "}, 400),
            ({"shortcut": "ok1", "text": "x" * 4097}, 413),
            ({"shortcut": "ok1", "text": "x", "title": "t" * 201}, 413),
            ({"shortcut": "ok1", "text": "x", "title": 5}, 400),
        ]
        for body, wanted in cases:
            status, err = await _call(http, "POST", base, lead, body)
            assert status == wanted, (body, err)
            assert set(err["error"]) == {"code", "message"} and err["error"]["message"]
        async with http.post(base, headers={**lead, "Content-Type": "application/json"}, data=b"[not json") as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "bad_json"

        status, err = await _call(http, "POST", base, agent, {"shortcut": "mine", "text": "x"})
        assert (status, err["error"]["code"]) == (403, "forbidden")
        status, made = await _call(http, "POST", base, lead, {"shortcut": "keep", "text": "kept"})
        assert status == 201
        status, err = await _call(http, "DELETE", f"{base}/keep", agent)
        assert (status, err["error"]["code"]) == (403, "forbidden")
        status, err = await _call(http, "GET", base, None)
        assert (status, err["error"]["code"]) == (401, "unauthorized")
        status, listed = await _call(http, "GET", base, agent)
        shortcuts = {c["shortcut"] for c in listed["canned"]}
        assert "keep" in shortcuts and "ok1" not in shortcuts and "mine" not in shortcuts


async def test_contacthub_canned_add_writes_one_the_page_can_list(hub: Hub) -> None:
    done = hub.cli("canned", "add", "Bye", "Goodbye {{customer.name}}", "--title", "Farewell")
    assert "/bye" in done.stdout
    again = hub.cli("canned", "add", "bye", "other", check=False)
    assert again.returncode == 1 and "exists already" in again.stderr
    bad = hub.cli("canned", "add", "no space", "x", check=False)
    assert bad.returncode == 1 and "shortcut" in bad.stderr
    async with aiohttp.ClientSession() as http:
        status, listed = await _call(http, "GET", f"{hub.url}/api/v1/canned", await hub.login(http))
    bye = {c["shortcut"]: c for c in listed["canned"]}["bye"]
    assert (bye["title"], bye["text"], bye["created_by"]) == ("Farewell", "Goodbye {{customer.name}}", "cli")
