"""The WhatsApp channel's settings: the Twilio account (the one SMS uses), the WhatsApp
sender's number, and the templates Meta approved (`[[whatsapp.templates]]` in the TOML file)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Self

from channels.base import ChannelSettings, Template
from channels.sms.settings import TwilioAccount
from hub.config import ConfigError
from hub.domain.phone import NotAPhoneNumber, to_e164

PREFIX = "whatsapp:"
_CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
_NAME = re.compile(r"^[a-z0-9_]{1,512}$")  # Meta's rule for template names


def _templates(raw: Mapping[str, Any]) -> tuple[Template, ...]:
    table = raw.get("whatsapp") or {}
    if not isinstance(table, dict):
        raise ConfigError("[whatsapp] must be a table")
    items = table.get("templates") or []
    if not isinstance(items, list):
        raise ConfigError("whatsapp.templates must be an array of tables ([[whatsapp.templates]])")
    found: list[Template] = []
    for i, t in enumerate(items):
        where = f"whatsapp.templates[{i}]"
        if not isinstance(t, dict):
            raise ConfigError(f"{where} must be a table")
        name, sid, text, variables = t.get("name"), t.get("content_sid"), t.get("text"), t.get("variables", [])
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{where}.name must be the template's name as Meta approved it (lower case, digits and _), not {name!r}")
        if not isinstance(sid, str) or not _CONTENT_SID.match(sid):
            raise ConfigError(f"{where}.content_sid must be the template's ContentSid: HX and 32 hex digits (Twilio console, Content Template Builder)")
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{where}.text must be the approved text, its placeholders written {{{{1}}}}, {{{{2}}}}, ...")
        if not (isinstance(variables, list) and all(isinstance(v, str) for v in variables)):
            raise ConfigError(f"{where}.variables must be a list of strings saying what each placeholder holds")
        template = Template(name=name, text=text, provider_id=sid, variables=tuple(variables))
        if len(variables) not in (0, len(template.placeholders())):
            raise ConfigError(f"{where}.variables names {len(variables)} placeholders; the text has {len(template.placeholders())}")
        if any(f.name == name for f in found):
            raise ConfigError(f"{where}.name {name!r} is used twice")
        found.append(template)
    return tuple(found)


@dataclass(frozen=True)
class WhatsAppSettings(ChannelSettings):
    channel: ClassVar[str] = "whatsapp"
    env: ClassVar[tuple[str, ...]] = (*TwilioAccount.env, "TWILIO_WHATSAPP_FROM")
    table: ClassVar[str] = "whatsapp"

    account: TwilioAccount = field(default_factory=TwilioAccount)
    #: the WhatsApp sender's number, E.164 (`whatsapp:` is added on the wire)
    from_number: str = ""
    templates: tuple[Template, ...] = ()

    @classmethod
    def read(cls, env: Mapping[str, str], raw: Mapping[str, Any]) -> Self:
        given = env.get("TWILIO_WHATSAPP_FROM", "").strip().removeprefix(PREFIX)
        try:
            sender = to_e164(given, "ZZ") if given else ""
        except NotAPhoneNumber as exc:
            raise ConfigError(f"TWILIO_WHATSAPP_FROM must be the WhatsApp sender's number in E.164, like +14155238886 (or whatsapp:+14155238886), not {given!r}") from exc
        return cls(account=TwilioAccount.read(env), from_number=sender, templates=_templates(raw))
