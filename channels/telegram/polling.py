"""Polling mode: getUpdates with a long timeout. The updates of a batch are published one by
one in update_id order (one chat stays in order: the topic key is its contact), and the
offset moves past an update only once the broker acked it. Telegram forgets an update only
when a later getUpdates names a higher offset, so a poller killed before the ack gets the
same updates again after its restart, and their derived ids store them once.

One web process should poll (Telegram answers 409 Conflict to a second poller; it backs off).
A button press is answered (answerCallbackQuery) with the poller's bot once it is stored."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import Conflict, RetryAfter, TelegramError, TimedOut

from channels.telegram.accept import accept
from channels.telegram.bot import make_bot, scrub
from channels.telegram.channel import retry_after_seconds
from channels.telegram.settings import TelegramSettings
from channels.telegram.updates import HANDLED_UPDATES, NotAnUpdate, parse
from hub.bus import BrokerUnavailable
from hub.core import Core

log = logging.getLogger("hub.telegram")
POLL_TIMEOUT = 25  # seconds Telegram holds a getUpdates open when nothing is waiting
PAUSE_AFTER_ERROR = 2.0


class Poller:
    def __init__(self, hub: Core, bot: Bot) -> None:
        self.hub = hub
        self.bot = bot
        self.offset: int | None = None
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        s = TelegramSettings.of(self.hub.settings)
        while True:
            try:
                # getUpdates is refused while a webhook is set.
                await self.bot.delete_webhook(drop_pending_updates=False)
                break
            except TelegramError as exc:
                log.warning("deleteWebhook failed, retrying", extra={"error": scrub(str(exc), s)})
                await asyncio.sleep(PAUSE_AFTER_ERROR)
        log.info("telegram polling started", extra={"updates": list(HANDLED_UPDATES)})
        while True:
            try:
                batch = await self.bot.get_updates(offset=self.offset, timeout=POLL_TIMEOUT, allowed_updates=list(HANDLED_UPDATES))
            except TimedOut:
                continue
            except RetryAfter as exc:
                await asyncio.sleep(retry_after_seconds(exc))
                continue
            except Conflict as exc:
                log.warning("another consumer of this bot's updates is running", extra={"error": scrub(str(exc), s)})
                await asyncio.sleep(PAUSE_AFTER_ERROR * 5)
                continue
            except TelegramError as exc:
                log.warning("getUpdates failed", extra={"error": scrub(str(exc), s)})
                await asyncio.sleep(PAUSE_AFTER_ERROR)
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. a batch the library cannot parse; keep polling
                log.error("getUpdates answer unusable", extra={"error": scrub(repr(exc), s)})
                await asyncio.sleep(PAUSE_AFTER_ERROR)
                continue
            if not await self._publish(sorted(batch, key=lambda u: u.update_id)):
                await asyncio.sleep(PAUSE_AFTER_ERROR)

    async def _publish(self, batch: list) -> bool:  # list[telegram.Update]
        """Publishes in order; returns False when the broker stopped acknowledging (the
        offset stays at the first update not acked, so getUpdates hands it back)."""
        for update in batch:
            try:
                incoming = parse(update)
            except NotAnUpdate as exc:
                # Fetching it again would give the same unreadable update, and every later
                # one would wait behind it for ever: skip it, and say so.
                log.warning("telegram update unreadable; skipped", extra={"update_id": update.update_id, "error": str(exc)[:200]})
                self.offset = update.update_id + 1
                continue
            try:
                kind = await accept(self.hub, incoming, self.bot)
            except BrokerUnavailable:
                log.warning("broker did not ack; the update will be fetched again", extra={"update_id": update.update_id})
                return False
            except Exception as exc:  # noqa: BLE001 - the database away, say: fetch it again later
                log.error("update not accepted; it will be fetched again", extra={"update_id": update.update_id, "error": repr(exc)})
                return False
            self.offset = update.update_id + 1
            if kind == "ignored":
                log.info("telegram update ignored", extra={"update_id": update.update_id})
        return True

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.bot.shutdown()


async def start(hub: Core) -> Poller | None:
    s = TelegramSettings.of(hub.settings)
    if not s.bot_token or s.mode != "polling":
        return None
    return Poller(hub, make_bot(s))
