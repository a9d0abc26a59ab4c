"""WhatsApp's settings slice: the sender's number and the approved templates of the TOML
file, checked when the settings load."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels import registry
from channels.whatsapp.channel import WhatsAppChannel
from channels.whatsapp.settings import WhatsAppSettings
from hub.config import ConfigError, Settings, load
from tests.channels.whatsapp.conftest import CONTENT_SID, TEMPLATES

pytestmark = pytest.mark.unit
SID = "AC" + "0" * 32


def loaded(tmp_path: Path, toml: str = "", **env: str) -> Settings:
    (tmp_path / "hub.toml").write_text(toml, encoding="utf-8")
    return load({"HUB_SECRET_KEY": "k" * 40, "HUB_CONFIG": str(tmp_path / "hub.toml"), **env})


async def test_the_sender_and_the_templates_are_read_and_the_channel_sends_with_them(tmp_path: Path) -> None:
    s = loaded(tmp_path, TEMPLATES, TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN="t", TWILIO_WHATSAPP_FROM="whatsapp:+1 415 523 8886")
    config = WhatsAppSettings.of(s)
    assert config.from_number == "+14155238886" and config.account.sid == SID
    (template,) = WhatsAppChannel.templates(s)
    assert (template.name, template.provider_id, template.variables) == ("order_update", CONTENT_SID, ("customer name", "order number"))
    assert template.placeholders() == ["1", "2"]
    channel = WhatsAppChannel(s, bus=None)  # type: ignore[arg-type]
    assert channel.config.from_number == "+14155238886"
    await channel.stop()


async def test_without_a_sender_the_channel_is_off(tmp_path: Path) -> None:
    s = loaded(tmp_path, TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN="t", TWILIO_FROM_NUMBER="+15005550006")
    assert WhatsAppSettings.of(s).from_number == "" and WhatsAppChannel.templates(s) == ()
    built = registry.build(s, bus=None)  # type: ignore[arg-type]
    assert "whatsapp" not in built and "sms" in built


@pytest.mark.parametrize("toml,env,named", [
    ("", {"TWILIO_WHATSAPP_FROM": "whatsapp:not-a-number"}, "TWILIO_WHATSAPP_FROM"),
    ('[[whatsapp.templates]]\nname = "Order Update"\ncontent_sid = "HX' + "0" * 32 + '"\ntext = "hi"\n', {}, r"templates\[0\].name"),
    ('[[whatsapp.templates]]\nname = "order"\ncontent_sid = "MG123"\ntext = "hi"\n', {}, "content_sid"),
    ('[[whatsapp.templates]]\nname = "order"\ncontent_sid = "HX' + "0" * 32 + '"\ntext = " "\n', {}, r"templates\[0\].text"),
    ('[[whatsapp.templates]]\nname = "order"\ncontent_sid = "HX' + "0" * 32 + '"\ntext = "hi {{1}} {{2}}"\nvariables = ["name"]\n', {},
     "names 1 placeholders; the text has 2"),
    ('[[whatsapp.templates]]\nname = "order"\ncontent_sid = "HX' + "0" * 32 + '"\ntext = "a"\n'
     '[[whatsapp.templates]]\nname = "order"\ncontent_sid = "HX' + "1" * 32 + '"\ntext = "b"\n', {}, "used twice"),
    ('whatsapp = "on"\n', {}, r"\[whatsapp\] must be a table"),
])
def test_a_wrong_setting_stops_the_load_with_its_name(tmp_path: Path, toml: str, env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        loaded(tmp_path, toml, **env)
