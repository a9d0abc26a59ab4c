from __future__ import annotations

from datetime import datetime, timezone
from typing import ClassVar

from channels.base import Channel, OutboundReply, SendResult
from channels.delivery import deliver
from hub.config import Settings

REPLY = OutboundReply(message_id="m", conversation_id="c", contact_id="k", channel="fake", address="a", text="hello", author="alice", at=datetime.now(timezone.utc))


class Scripted(Channel):
    name: ClassVar[str] = "fake"
    max_text: ClassVar[int] = 10

    def __init__(self, outcomes: list[SendResult | Exception]) -> None:
        super().__init__(Settings(secret_key="x"), None)  # type: ignore[arg-type]
        self.outcomes = outcomes
        self.calls = 0

    async def send(self, reply: OutboundReply) -> SendResult:
        outcome = self.outcomes[min(self.calls, len(self.outcomes) - 1)]
        self.calls += 1
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


async def run(channel: Channel | None, reply: OutboundReply = REPLY) -> tuple[SendResult, list[float]]:
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    return await deliver(channel, reply, backoff=(1, 2, 4), sleep=sleep), pauses


async def test_retryable_failures_back_off_then_succeed() -> None:
    ch = Scripted([SendResult(ok=False, error="429", retryable=True), SendResult(ok=False, error="503", retryable=True), SendResult(ok=True, provider_id="p1")])
    result, pauses = await run(ch)
    assert result.ok and result.provider_id == "p1"
    assert ch.calls == 3 and pauses == [1, 2]


async def test_gives_up_after_the_last_backoff_with_the_last_error() -> None:
    ch = Scripted([SendResult(ok=False, error="503 again", retryable=True)])
    result, pauses = await run(ch)
    assert not result.ok and result.error == "503 again"
    assert ch.calls == 4 and pauses == [1, 2, 4]


async def test_permanent_failure_and_adapter_bug_are_not_retried() -> None:
    for outcome in (SendResult(ok=False, error="blocked by user"), RuntimeError("adapter bug")):
        ch = Scripted([outcome])
        result, pauses = await run(ch)
        assert not result.ok and ch.calls == 1 and pauses == []
    assert "RuntimeError: adapter bug" in result.error


async def test_limits_and_missing_adapter_fail_before_any_call() -> None:
    ch = Scripted([SendResult(ok=True)])
    long = OutboundReply(**{**REPLY.__dict__, "text": "x" * 11})
    result, _ = await run(ch, long)
    assert not result.ok and "longer than 10" in result.error and ch.calls == 0
    result, _ = await run(None)
    assert not result.ok and "no adapter" in result.error


async def test_a_providers_retry_after_is_waited_at_least_and_too_long_a_wait_fails() -> None:
    ch = Scripted([SendResult(ok=False, error="429", retryable=True, retry_after=3.5), SendResult(ok=False, error="429", retryable=True, retry_after=0.5), SendResult(ok=True)])
    result, pauses = await run(ch)
    assert result.ok and ch.calls == 3
    assert pauses == [3.5, 2]  # the provider's 3.5 s over our 1 s, then our 2 s over its 0.5 s
    ch = Scripted([SendResult(ok=False, error="Telegram rate limit", retryable=True, retry_after=3600)])
    result, pauses = await run(ch)
    assert not result.ok and ch.calls == 1 and pauses == [] and "3600" in result.error and "Telegram rate limit" in result.error
