"""Replies through Bot.send_message. A text over Telegram's 4,096 is sent as several
messages in order, cut on word boundaries. Telegram's errors become SendResults here: 429
carries its retry_after (delivery waits at least that long), a user who blocked the bot is a
final failure the agent reads, network trouble may be retried. A survey's question carries an
inline keyboard, one button per score, under its last part (channels/telegram/surveys.py)."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from typing import ClassVar, Mapping

from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from channels.base import Channel, ChannelNotConfigured, ChannelSettings, OutboundReply, SendResult
from channels.telegram.bot import make_bot, scrub
from channels.telegram.settings import TelegramSettings
from channels.telegram.surveys import keyboard
from channels.telegram.updates import MAX_TEXT, split_text
from hub.bus import Bus
from hub.config import Settings

log = logging.getLogger("hub.telegram")
#: The longest reply accepted: eight Telegram messages.
MAX_REPLY = MAX_TEXT * 8
_MAX_IN_PROGRESS = 1000


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns while it moves this from int to timedelta
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel(Channel):
    name: ClassVar[str] = "telegram"
    labels: ClassVar[Mapping[str, str]] = {"en": "Telegram", "fa": "تلگرام"}
    max_text: ClassVar[int] = MAX_REPLY
    routes: ClassVar[str] = "channels.telegram.webhook:routes"
    # each starts nothing unless TELEGRAM_MODE is its mode
    listeners: ClassVar[tuple[str, ...]] = ("channels.telegram.webhook:start", "channels.telegram.polling:start")
    opener: ClassVar[str] = "channels.telegram.media:open_item"
    settings_type: ClassVar[type[ChannelSettings]] = TelegramSettings

    def __init__(self, settings: Settings, bus: Bus) -> None:
        super().__init__(settings, bus)
        self.config = TelegramSettings.of(settings)
        if not self.config.bot_token:
            raise ChannelNotConfigured("TELEGRAM_BOT_TOKEN is needed")
        self.bot = make_bot(self.config)
        # message id -> Telegram ids of the parts already sent: a retry (after a 429 on part
        # 3, say) goes on from the part that failed instead of sending the first ones again.
        self._sent: dict[str, list[int]] = {}

    async def stop(self) -> None:
        await self.bot.shutdown()

    async def send(self, reply: OutboundReply) -> SendResult:
        parts = split_text(reply.text)
        done = self._sent.setdefault(reply.message_id, [])
        if len(self._sent) > _MAX_IN_PROGRESS:
            self._sent.pop(next(iter(self._sent)))
        buttons = keyboard(reply.survey) if reply.survey else None
        if reply.survey and buttons is None:
            log.warning("survey asked without buttons: they cannot be built from it", extra={"conversation_id": reply.conversation_id,
                                                                                             "survey_id": reply.message_id})
        try:
            for index in range(len(done), len(parts)):
                markup = buttons if index == len(parts) - 1 else None
                sent = await self.bot.send_message(chat_id=reply.address, text=parts[index], reply_markup=markup)
                done.append(sent.message_id)
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            return SendResult(ok=False, error=f"Telegram rate limit: retry after {wait:g} s", retryable=True, retry_after=wait)
        except Forbidden as exc:
            self._sent.pop(reply.message_id, None)
            return SendResult(ok=False, error=self._forbidden(exc), retryable=False)
        except (BadRequest, ChatMigrated, InvalidToken) as exc:  # BadRequest is a NetworkError: first
            self._sent.pop(reply.message_id, None)
            return SendResult(ok=False, error=f"Telegram refused the message: {scrub(str(exc), self.config)}", retryable=False)
        except NetworkError as exc:  # TimedOut included
            return SendResult(ok=False, error=f"Telegram unreachable: {scrub(str(exc), self.config)}", retryable=True)
        except TelegramError as exc:
            self._sent.pop(reply.message_id, None)
            return SendResult(ok=False, error=f"Telegram error: {scrub(str(exc), self.config)}", retryable=False)
        self._sent.pop(reply.message_id, None)
        log.info("telegram reply sent", extra={"conversation_id": reply.conversation_id, "message_id": reply.message_id, "parts": len(done),
                                               "buttons": buttons is not None})
        return SendResult(ok=True, status="sent", provider_id=",".join(str(i) for i in done))

    def _forbidden(self, exc: Forbidden) -> str:
        said = scrub(str(exc), self.config)
        if "blocked" in said.lower():
            return f"not delivered: the customer blocked the bot on Telegram ({said})"
        return f"not delivered: Telegram does not let the bot write to this chat ({said})"
