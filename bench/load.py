"""Open-loop load: sends start at fixed times whatever the answers, so a slow system shows
as latency and not as a lower offered rate."""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable


async def open_loop(rate: int, seconds: float, send: Callable[[int], Awaitable[None]], lag_ms: list[float], timeout: float) -> float:
    """Starts `send(i)` at start + i/rate for `seconds`; waits at most `timeout` seconds after
    the last start for the sends to finish (unfinished ones are cancelled). Appends each
    start's lateness against its schedule to `lag_ms`; returns the start time."""
    start = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lag_ms.append((time.perf_counter() - due) * 1000)
        tasks.append(asyncio.create_task(send(i)))
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return start


async def wait_until(done: Callable[[], bool], deadline: float, interval: float = 0.05) -> bool:
    """Polls `done` until it holds or time.perf_counter() passes `deadline`."""
    while not done():
        if time.perf_counter() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True
