"""The SMS channel's settings: a Twilio account and the number replies are sent from. The
account is its own part: every channel over Twilio signs and fetches with the same one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Self

from channels.base import ChannelSettings
from hub.config import ConfigError

TWILIO_API = "https://api.twilio.com"


@dataclass(frozen=True)
class TwilioAccount:
    sid: str = ""
    #: signs Twilio's webhooks: with it alone the hub takes messages in but sends none
    auth_token: str = ""
    api_base: str = TWILIO_API

    env: ClassVar[tuple[str, ...]] = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE")

    @classmethod
    def read(cls, env: Mapping[str, str]) -> TwilioAccount:
        sid = env.get("TWILIO_ACCOUNT_SID", "").strip()
        if sid and not (sid.startswith("AC") and len(sid) == 34):
            raise ConfigError("TWILIO_ACCOUNT_SID must be the account's SID: AC and 32 more characters (Twilio console, Account info)")
        base = env.get("TWILIO_API_BASE", TWILIO_API).rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise ConfigError(f"TWILIO_API_BASE must be an http(s) URL, not {base!r}")
        return cls(sid=sid, auth_token=env.get("TWILIO_AUTH_TOKEN", ""), api_base=base)

    def sends_from(self, sender: str) -> bool:
        return bool(self.sid and self.auth_token and sender)


@dataclass(frozen=True)
class SmsSettings(ChannelSettings):
    channel: ClassVar[str] = "sms"
    env: ClassVar[tuple[str, ...]] = (*TwilioAccount.env, "TWILIO_FROM_NUMBER")

    account: TwilioAccount = field(default_factory=TwilioAccount)
    from_number: str = ""

    @classmethod
    def read(cls, env: Mapping[str, str], raw: Mapping[str, Any]) -> Self:
        return cls(account=TwilioAccount.read(env), from_number=env.get("TWILIO_FROM_NUMBER", "").strip())
