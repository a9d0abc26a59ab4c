"""The hub the bench measures is configured as a real install is: SLA policies on every
conversation, a ladder for complaints, and every channel on (SMS and Telegram against local
fakes of their APIs, the SMTP listener, the web chat and the API). Only IMAP is off: it
needs a mail server, and its poller costs the web role one connection a minute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.broker import free_port
from hub.config import RUN_DEFAULTS
from tests.channels.telegram.fake_bot_api import FakeBotApi

#: SLA policies as a help desk sets them: complaints answered sooner, every conversation on a clock
CONFIG = """
[[sla]]
name = "complaint"
when = { complaint = true }
calendar = "24x7"
first_response = "10m"
resolution = "1d"
warn_at = 0.8

[[sla]]
name = "default"
calendar = "24x7"
first_response = "30m"
resolution = "8h"
warn_at = 0.8

[[escalation]]
name = "unresolved-complaint"
when = { complaint = true }
levels = [ { after = "30m", notify = ["role:lead"] }, { after = "2h", notify = ["role:manager"] } ]
"""

def config_with_probe(probe: str = "") -> str:
    """CONFIG, and first, when `probe` is a duration, a policy that times a Telegram
    message's first response to it: the clock whose breach the bench watches."""
    policy = f'[[sla]]\nname = "probe"\nwhen = {{ channel = "telegram" }}\ncalendar = "24x7"\nfirst_response = "{probe}"\n' if probe else ""
    return policy + CONFIG


# The SMS channel's webhook is measured; nothing is sent.
SMS_ENV = {"TWILIO_ACCOUNT_SID": "AC" + "b" * 32, "TWILIO_AUTH_TOKEN": "bench-token", "TWILIO_FROM_NUMBER": "+15005550006",
           "HUB_PUBLIC_URL": "https://bench.example.com"}
TELEGRAM_TOKEN = "123456:bench-token"


class Install:
    """The configuration file, the environment and the fake Telegram API of one bench hub."""

    def __init__(self, tmp: Path, probe: str = "") -> None:
        """`probe`: a first response due that long after a Telegram message (bench/capacity.py
        times its breach), chosen before the others."""
        self.tmp = tmp
        self.probe = probe
        self.telegram = FakeBotApi(TELEGRAM_TOKEN)

    async def start(self) -> dict[str, Any]:
        """The extra environment of the hub (its TOML written, the fake API listening)."""
        await self.telegram.start()
        (self.tmp / "hub.toml").write_text(config_with_probe(self.probe), encoding="utf-8")
        return {
            **SMS_ENV,
            **RUN_DEFAULTS,  # the roles as `contacthub run` starts them (the projector a process of its own)
            "HUB_CONFIG": str(self.tmp / "hub.toml"),
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_MODE": "polling",
            "TELEGRAM_API_BASE": self.telegram.url,
            "HUB_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
            "HUB_SMTP_URL": f"smtp://127.0.0.1:{free_port()}",
            "HUB_EMAIL_FROM": "support@bench.example.com",
        }

    async def stop(self) -> None:
        await self.telegram.stop()
