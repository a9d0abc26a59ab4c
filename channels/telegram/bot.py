"""The one way the hub builds a python-telegram-bot `Bot`: pointed at TELEGRAM_API_BASE, and
the token kept out of anything we log or show."""

from __future__ import annotations

import logging

from telegram import Bot

from channels.telegram.settings import TelegramSettings

# httpx logs every request's URL at INFO, and a Bot API URL holds the token.
logging.getLogger("httpx").setLevel(logging.WARNING)


def make_bot(settings: TelegramSettings) -> Bot:
    # Bot's base_url is the prefix *including* "/bot"; it appends the token itself.
    api = settings.api_base
    return Bot(settings.bot_token, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot")


def bot_id(settings: TelegramSettings) -> str:
    """The bot's numeric id, the part of the token before ':' (not secret): it namespaces
    event ids, since update and message ids are only unique per bot."""
    return settings.bot_token.split(":", 1)[0]


def scrub(text: str, settings: TelegramSettings) -> str:
    """A library error can carry a URL with the token in it; never log or show the token."""
    token = settings.bot_token
    return text.replace(token, "<token>") if token else text
