"""Telegram through the Bot API: updates arrive by webhook (webhook.py) or long polling
(polling.py), both with `start(hub)` as their entry and both acknowledging only after the
broker acked; replies go out with Bot.send_message (channel.py), a survey's question with
an inline keyboard whose presses come back as callback queries (surveys.py); files are
fetched through getFile only when an agent opens them (media.py). python-telegram-bot's Application and
Updater are not used: they acknowledge updates before anything is durable."""

from channels.telegram.channel import TelegramChannel
from channels.telegram.updates import HANDLED_UPDATES, ButtonPress, Incoming, NotAnUpdate, parse, split_text

__all__ = ["HANDLED_UPDATES", "ButtonPress", "Incoming", "NotAnUpdate", "TelegramChannel", "parse", "split_text"]
