"""Polling helpers for tests that wait on another process."""

from __future__ import annotations

import asyncio
import time
from typing import Any


async def eventually(check: Any, timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Polls an async check until it returns a truthy value; returns it."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
