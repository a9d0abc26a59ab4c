"""Which Telegram edge starts, and webhook mode refusing to run without a secret."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from channels.telegram import polling, webhook
from hub.config import ConfigError, load


def hub_with(**env: str) -> object:
    return SimpleNamespace(settings=load({"HUB_SECRET_KEY": "k" * 40, **env}))


async def test_nothing_starts_without_a_token_or_in_the_other_mode() -> None:
    assert await webhook.start(hub_with()) is None  # type: ignore[arg-type]
    assert await polling.start(hub_with()) is None  # type: ignore[arg-type]
    assert await webhook.start(hub_with(TELEGRAM_BOT_TOKEN="1:x", TELEGRAM_MODE="polling")) is None  # type: ignore[arg-type]
    assert await polling.start(hub_with(TELEGRAM_BOT_TOKEN="1:x", TELEGRAM_MODE="webhook", TELEGRAM_WEBHOOK_SECRET="s")) is None  # type: ignore[arg-type]


async def test_webhook_mode_refuses_to_start_without_a_usable_secret() -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET is required"):
        await webhook.start(hub_with(TELEGRAM_BOT_TOKEN="1:x", TELEGRAM_MODE="webhook"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="A-Z, a-z, 0-9"):
        await webhook.start(hub_with(TELEGRAM_BOT_TOKEN="1:x", TELEGRAM_WEBHOOK_SECRET="has spaces!"))  # type: ignore[arg-type]
