"""A local server speaking the part of the Telegram Bot API the hub uses, at
`/bot<token>/<method>` and `/file/bot<token>/<path>`, so python-telegram-bot's real `Bot`
can be pointed at it with TELEGRAM_API_BASE.

getUpdates behaves like Telegram's: an update is forgotten only once a later call names an
offset above it; with nothing waiting the call is held up to its `timeout`."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from hub.broker import free_port


class FakeBotApi:
    def __init__(self, token: str) -> None:
        self.token = token
        self.port = free_port()
        self.runner: web.AppRunner | None = None
        self.calls: list[tuple[str, dict[str, str]]] = []  # every method call, refused ones too
        self.call_times: list[float] = []  # when each of `calls` arrived (monotonic)
        self.sent: list[dict[str, Any]] = []  # sendMessage calls that were answered ok (reply_markup parsed, None if absent)
        self.answered: list[dict[str, str]] = []  # answerCallbackQuery calls
        self.markup_edits: list[dict[str, Any]] = []  # editMessageReplyMarkup calls (reply_markup parsed, None if absent)
        self.webhooks: list[dict[str, str]] = []
        self.pending: list[dict[str, Any]] = []  # updates not yet confirmed by an offset
        self.served: list[int] = []  # update ids handed out by getUpdates, in order
        self.confirmed = 0  # the highest offset a getUpdates has named
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
        self.downloads: list[str] = []
        self.refuse: dict[str, list[tuple[int, dict[str, Any]]]] = {}  # chat id -> answers to give first
        self.blocked: set[str] = set()
        self._arrived = asyncio.Event()
        self._next_message_id = 1000
        self._next_update_id = 500_000

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- switches the tests use -------------------------------------------------------

    def rate_limit(self, chat_id: str, times: int, retry_after: int) -> None:
        """The next `times` sendMessage calls to the chat get 429 with retry_after."""
        body = {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}", "parameters": {"retry_after": retry_after}}
        self.refuse.setdefault(chat_id, []).extend([(429, body)] * times)

    def block(self, chat_id: str) -> None:
        self.blocked.add(chat_id)

    def queue_update(self, update: dict[str, Any]) -> int:
        """Queues an update for getUpdates; its update_id is assigned here unless given."""
        if "update_id" not in update:
            self._next_update_id += 1
            update = {"update_id": self._next_update_id, **update}
        self.pending.append(update)
        self._arrived.set()
        return int(update["update_id"])

    def add_file(self, file_id: str, path: str, body: bytes) -> None:
        self.files[file_id] = (path, body)

    # --- the API ------------------------------------------------------------------------

    @staticmethod
    def ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def error(status: int, description: str) -> web.Response:
        return web.json_response({"ok": False, "error_code": status, "description": description}, status=status)

    async def method(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self.error(401, "Unauthorized")
        params = {k: str(v) for k, v in (await request.post()).items()}
        name = request.match_info["method"]
        self.calls.append((name, params))
        self.call_times.append(time.monotonic())
        handler = getattr(self, f"_{name}", None)
        if handler is None:
            return self.error(404, "Not Found: method not found")
        return await handler(params)

    async def _getMe(self, _: dict[str, str]) -> web.Response:
        return self.ok({"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "Hub", "username": "hub_test_bot"})

    async def _setWebhook(self, params: dict[str, str]) -> web.Response:
        self.webhooks.append(params)
        return self.ok(True)

    async def _deleteWebhook(self, params: dict[str, str]) -> web.Response:
        self.webhooks.append({"deleted": "true", **params})
        return self.ok(True)

    async def _getUpdates(self, params: dict[str, str]) -> web.Response:
        offset = int(params.get("offset") or 0)
        if offset:
            self.confirmed = max(self.confirmed, offset)
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while not self.pending and time.monotonic() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - time.monotonic())
            except asyncio.TimeoutError:
                break
        batch = sorted(self.pending, key=lambda u: u["update_id"])[: int(params.get("limit") or 100)]
        self.served.extend(u["update_id"] for u in batch)
        return self.ok(batch)

    async def _sendMessage(self, params: dict[str, str]) -> web.Response:
        chat_id = params.get("chat_id", "")
        if chat_id in self.blocked:
            return self.error(403, "Forbidden: bot was blocked by the user")
        queued = self.refuse.get(chat_id)
        if queued:
            status, body = queued.pop(0)
            return web.json_response(body, status=status)
        self._next_message_id += 1
        record = {"chat_id": chat_id, "text": params.get("text", ""), "message_id": self._next_message_id, "at": time.monotonic(),
                  "reply_markup": _markup(params)}
        self.sent.append(record)
        return self.ok({"message_id": self._next_message_id, "date": int(time.time()), "chat": {"id": int(chat_id), "type": "private"}, "text": record["text"]})

    async def _answerCallbackQuery(self, params: dict[str, str]) -> web.Response:
        if not params.get("callback_query_id"):
            return self.error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.answered.append(params)
        return self.ok(True)

    async def _editMessageReplyMarkup(self, params: dict[str, str]) -> web.Response:
        self.markup_edits.append({"chat_id": params.get("chat_id", ""), "message_id": params.get("message_id", ""), "reply_markup": _markup(params)})
        return self.ok(True)

    async def _getFile(self, params: dict[str, str]) -> web.Response:
        found = self.files.get(params.get("file_id", ""))
        if found is None:
            return self.error(400, "Bad Request: invalid file_id")
        path, body = found
        return self.ok({"file_id": params["file_id"], "file_unique_id": "u-" + params["file_id"], "file_size": len(body), "file_path": path})

    async def download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self.error(401, "Unauthorized")
        path = request.match_info["path"]
        self.downloads.append(path)
        for stored, body in self.files.values():
            if stored == path:
                return web.Response(body=body, content_type="application/octet-stream")
        return self.error(404, "Not Found")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.method)
        app.router.add_get("/file/bot{token}/{path:.+}", self.download)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


def _markup(params: dict[str, str]) -> Any:
    """A reply_markup as it was sent: JSON in a form field."""
    return json.loads(params["reply_markup"]) if params.get("reply_markup") else None


def dumps(update: dict[str, Any]) -> str:
    return json.dumps(update, ensure_ascii=False)
