"""docs/channels.md is read as the hub reads its settings: each example block loads through
hub.config.load and turns its channel on, and every variable a channel reads is shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from channels import registry
from channels.whatsapp.channel import WhatsAppChannel
from hub.config import load

pytestmark = pytest.mark.unit
DOC = Path(__file__).resolve().parents[2] / "docs" / "channels.md"
BLOCK = re.compile(r"```(env|toml)\n# channel: (\w+)\n(.*?)```", re.S)


def blocks(kind: str) -> list[tuple[str, str]]:
    return [(channel, body) for k, channel, body in BLOCK.findall(DOC.read_text(encoding="utf-8")) if k == kind]


def env_of(body: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in body.splitlines() if line.strip() and not line.startswith("#")]
    assert all(len(p) == 2 for p in pairs), body
    return {k.strip(): v.strip() for k, v in pairs}


def test_the_doc_has_an_example_for_each_channel_with_settings() -> None:
    shown = {channel for channel, _ in blocks("env")}
    assert shown >= {c.name for c in registry.CHANNELS if c.settings_type.env}
    assert "whatsapp" in {channel for channel, _ in blocks("toml")}


def test_every_variable_a_channel_reads_has_an_example() -> None:
    shown = {name for _, body in blocks("env") for name in env_of(body)}
    assert set(registry.settings_env()) - shown == set()
    assert {"HUB_PUBLIC_URL", "HUB_PHONE_REGION", "HUB_MEDIA_MAX_BYTES"} <= shown


@pytest.mark.parametrize("channel,body", blocks("env"), ids=[f"{c}-{i}" for i, (c, _) in enumerate(blocks("env"))])
async def test_each_example_loads_and_turns_its_channel_on(channel: str, body: str, tmp_path: Path) -> None:
    settings = load({"HUB_SECRET_KEY": "k" * 40, "HUB_VAR_DIR": str(tmp_path), **env_of(body)})
    if channel == "all":
        assert settings.public_url == "https://support.example.com" and settings.phone_region == "IR"
        return
    built = registry.build(settings, bus=None)  # type: ignore[arg-type]
    try:
        assert channel in built
        read = registry.get(channel).settings_type.of(settings)  # type: ignore[union-attr]
        assert read == settings.channel_settings[channel]
    finally:
        for adapter in built.values():
            await adapter.stop()


def test_the_template_example_loads_with_the_whatsapp_example(tmp_path: Path) -> None:
    (toml,) = [body for channel, body in blocks("toml") if channel == "whatsapp"]
    (tmp_path / "hub.toml").write_text(toml, encoding="utf-8")
    (env,) = [env_of(body) for channel, body in blocks("env") if channel == "whatsapp"]
    settings = load({"HUB_SECRET_KEY": "k" * 40, "HUB_VAR_DIR": str(tmp_path), "HUB_CONFIG": str(tmp_path / "hub.toml"), **env})
    templates = WhatsAppChannel.templates(settings)
    assert [t.name for t in templates] == ["order_update", "reopen_conversation"]
    assert templates[0].render({"1": "Sara", "2": "#42"}) == "Hello Sara, your order #42 has shipped."
    assert all(len(t.variables) == len(t.placeholders()) for t in templates)
