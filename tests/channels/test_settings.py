"""Each channel declares, reads and checks its own settings slice; contacthub reads them all
at start, so a wrong value stops it with the variable's name."""

from __future__ import annotations

import pytest

from channels import registry
from channels.email.settings import EmailSettings
from channels.sms.settings import SmsSettings
from channels.telegram.settings import TelegramSettings
from hub.config import ConfigError, Settings, env_vars, load

pytestmark = pytest.mark.unit
SID = "AC" + "0" * 32


def settings(**env: str) -> Settings:
    return load({"HUB_SECRET_KEY": "k" * 40, **env})


def test_a_loaded_settings_carries_every_channels_slice_read_from_the_environment() -> None:
    s = settings(TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN="tok", TWILIO_FROM_NUMBER=" +15005550006 ", TWILIO_API_BASE="http://127.0.0.1:9/",
                 TELEGRAM_BOT_TOKEN="123:abc-DEF", TELEGRAM_MODE="polling", HUB_SMTP_URL="smtps://u:p@mail.example",
                 HUB_EMAIL_FROM="support@example.com", HUB_IMAP_URL="imaps://in%40x:pw@imap.example/Support", HUB_SMTP_LISTEN="[::1]:2525",
                 HUB_EMAIL_MAX_BYTES="2048")
    assert set(s.channel_settings) == set(registry.names())
    sms = SmsSettings.of(s)
    assert (sms.account.sid, sms.account.auth_token, sms.account.api_base, sms.from_number) == (SID, "tok", "http://127.0.0.1:9", "+15005550006")
    assert sms.account.sends_from(sms.from_number)
    tg = TelegramSettings.of(s)
    assert (tg.bot_token, tg.mode, tg.webhook_secret) == ("123:abc-DEF", "polling", "")
    mail = EmailSettings.of(s)
    assert mail.smtp is not None and (mail.smtp.host, mail.smtp.port, mail.smtp.use_tls) == ("mail.example", 465, True)
    assert mail.imap is not None and (mail.imap.username, mail.imap.mailbox, mail.imap.port) == ("in@x", "Support", 993)
    assert (mail.listen, mail.max_bytes, mail.from_address) == (("::1", 2525), 2048, "support@example.com")


def test_a_channel_without_settings_is_off_not_an_error() -> None:
    s = settings()
    assert not SmsSettings.of(s).account.sends_from(SmsSettings.of(s).from_number)
    assert TelegramSettings.of(s).bot_token == "" and EmailSettings.of(s).smtp is None and EmailSettings.of(s).imap is None
    # a Settings built by hand (the unit layer's) has no slices: each reads as its defaults
    assert SmsSettings.of(Settings()) == SmsSettings() and EmailSettings.of(Settings()).listen is None
    assert registry.build(s, bus=None).keys() == {"web", "api"}  # type: ignore[arg-type]


@pytest.mark.parametrize("env,named", [
    ({"TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_API_BASE": "api.twilio.com"}, "TWILIO_API_BASE"),
    ({"TELEGRAM_BOT_TOKEN": "not a token"}, "TELEGRAM_BOT_TOKEN"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_MODE": "push"}, "TELEGRAM_MODE"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_MODE": "webhook"}, "TELEGRAM_WEBHOOK_SECRET is required"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": "has spaces!"}, "TELEGRAM_WEBHOOK_SECRET must be"),
    ({"TELEGRAM_API_BASE": "ftp://x"}, "TELEGRAM_API_BASE"),
    ({"HUB_SMTP_URL": "mail.example:25"}, "HUB_SMTP_URL"),
    ({"HUB_IMAP_URL": "imap://imap.example"}, "HUB_IMAP_URL"),
    ({"HUB_SMTP_LISTEN": "2525"}, "HUB_SMTP_LISTEN"),
    ({"HUB_EMAIL_MAX_BYTES": "ten"}, "HUB_EMAIL_MAX_BYTES"),
    ({"HUB_EMAIL_FROM": "support"}, "HUB_EMAIL_FROM"),
])
def test_a_wrong_value_stops_the_load_with_its_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        settings(**env)


def test_every_variable_a_channel_reads_is_one_the_hub_lists() -> None:
    listed = env_vars()
    assert len(listed) == len(set(listed))
    for cls in registry.CHANNELS:
        assert set(cls.settings_type.env) <= set(listed), cls.name
    assert {"TWILIO_AUTH_TOKEN", "TELEGRAM_MODE", "HUB_IMAP_URL", "HUB_DATABASE_URL"} <= set(listed)
