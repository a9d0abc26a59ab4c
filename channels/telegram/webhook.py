"""Webhook mode: POST /webhooks/telegram answers 200 only once the broker acked the update,
so Telegram redelivers anything not stored. At start the hub calls setWebhook with the
secret and the update kinds it handles; every request must carry that secret
(X-Telegram-Bot-Api-Secret-Token, compared in constant time). Without a secret the mode
refuses to start: anyone could post forged updates. A button press is answered
(answerCallbackQuery) with the registration's bot before the 200."""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiohttp import web
from telegram import Bot
from telegram.error import TelegramError

from channels.telegram.accept import accept
from channels.telegram.bot import make_bot, scrub
from channels.telegram.settings import TelegramSettings
from channels.telegram.updates import HANDLED_UPDATES, NotAnUpdate, parse_json
from hub.bus import BrokerUnavailable
from hub.core import Core
from hub.http import ApiError, core_of, read_json

log = logging.getLogger("hub.telegram")
PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY: tuple[float, ...] = (1, 2, 5, 10, 30)
routes = web.RouteTableDef()


def secret_matches(settings: TelegramSettings, given: str) -> bool:
    want = settings.webhook_secret
    return bool(want) and hmac.compare_digest(given.encode(), want.encode())


@routes.post(PATH)
async def inbound_update(request: web.Request) -> web.Response:
    hub = core_of(request)
    settings = TelegramSettings.of(hub.settings)
    if not settings.bot_token or settings.mode != "webhook":
        raise ApiError(404, "channel_off", "the Telegram webhook is not configured")
    if not secret_matches(settings, request.headers.get(SECRET_HEADER, "")):
        log.warning("telegram webhook refused: bad secret", extra={"path": request.path, "remote": request.remote})
        raise ApiError(403, "bad_secret", f"{SECRET_HEADER} does not match")
    data = await read_json(request)  # the API's rules: UTF-8, 32 levels at most, 400 otherwise
    try:
        kind = await accept(hub, parse_json(data), _registration.bot if _registration is not None else None)
    except NotAnUpdate as exc:
        raise ApiError(400, "invalid", str(exc)) from exc
    except BrokerUnavailable as exc:
        raise ApiError(503, "unavailable", "not stored; Telegram will retry") from exc
    return web.json_response({"ok": True, "kind": kind})


class WebhookRegistration:
    """setWebhook, retried in the background until Telegram took it (the route works
    meanwhile: Telegram keeps what it cannot deliver). Its bot also answers button presses."""

    def __init__(self, hub: Core, bot: Bot) -> None:
        global _registration
        self.hub = hub
        self.bot = bot
        self.task = asyncio.create_task(self._register())
        _registration = self

    async def _register(self) -> None:
        s = TelegramSettings.of(self.hub.settings)
        url = self.hub.settings.base_url + PATH
        for pause in (0.0, *RETRY, *([RETRY[-1]] * 1000)):
            await asyncio.sleep(pause)
            try:
                await self.bot.set_webhook(url=url, secret_token=s.webhook_secret, allowed_updates=list(HANDLED_UPDATES))
            except TelegramError as exc:
                log.warning("setWebhook failed, retrying", extra={"error": scrub(str(exc), s)})
                continue
            log.info("telegram webhook set", extra={"url": url, "updates": list(HANDLED_UPDATES)})
            return

    async def stop(self) -> None:
        global _registration
        if _registration is self:
            _registration = None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.bot.shutdown()


#: This process's registration (a web process serves one app). The route reaches its bot
#: here: it is handed a Core, which knows nothing of the listeners the web role started.
_registration: WebhookRegistration | None = None


async def start(hub: Core) -> WebhookRegistration | None:
    s = TelegramSettings.of(hub.settings)
    if not s.bot_token or s.mode != "webhook":
        return None
    return WebhookRegistration(hub, make_bot(s))
