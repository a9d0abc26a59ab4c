"""The Telegram channel's settings: a bot's token and how updates reach the hub."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Self

from channels.base import ChannelSettings
from hub.config import ConfigError

# BotFather's tokens: the bot's numeric id, a colon, the secret part
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram allows in secret_token


@dataclass(frozen=True)
class TelegramSettings(ChannelSettings):
    channel: ClassVar[str] = "telegram"
    env: ClassVar[tuple[str, ...]] = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_MODE", "TELEGRAM_API_BASE")

    bot_token: str = ""
    webhook_secret: str = ""
    mode: str = "webhook"  # webhook | polling
    api_base: str = "https://api.telegram.org"

    @classmethod
    def read(cls, env: Mapping[str, str], raw: Mapping[str, Any]) -> Self:
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if token and not _TOKEN.match(token):
            raise ConfigError("TELEGRAM_BOT_TOKEN must be the token BotFather gave, like 123456:ABC-def (digits, a colon, the secret)")
        mode = env.get("TELEGRAM_MODE", "webhook")
        if mode not in ("webhook", "polling"):
            raise ConfigError(f"TELEGRAM_MODE must be `webhook` or `polling`, not {mode!r}")
        secret = env.get("TELEGRAM_WEBHOOK_SECRET", "")
        if token and mode == "webhook" and not secret:
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET is required in webhook mode: without it anyone could post forged updates")
        if secret and not _SECRET.match(secret):
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule for secret_token)")
        base = env.get("TELEGRAM_API_BASE", "https://api.telegram.org").rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise ConfigError(f"TELEGRAM_API_BASE must be an http(s) URL, not {base!r}")
        return cls(bot_token=token, webhook_secret=secret, mode=mode, api_base=base)
