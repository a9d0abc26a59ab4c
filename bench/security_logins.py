"""`make bench`, security: what a sign-in costs and what it does to everyone else.

- A missing user and a real one with a wrong password, signed in for one after another
  (each from its own address, so the limiter counts none twice): the median time of each.
  The hub checks a missing user against a real hash of the same cost, so the two should be
  within a few per cent; before, a missing user answered in ~7 ms against ~85 ms.
- 20 sign-ins at once (20 usernames, each checked by bcrypt) while /healthz is asked every
  20 ms: /healthz's p50/p99/max during them. bcrypt runs on its own threads, never on the event loop; before, /healthz's median
  was 379 ms (max 1.9 s).
It asserts nothing.

    python -m bench.security_logins
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.support import Hub
from tests.support.probes import HealthPoll

TRIES = 20
AT_ONCE = 20


async def _timed_login(http: aiohttp.ClientSession, hub: Hub, username: str, password: str, client: str) -> tuple[float, int]:
    started = time.perf_counter()
    async with http.post(f"{hub.url}/api/v1/login", json={"username": username, "password": password}, headers={"X-Forwarded-For": client}) as r:
        await r.read()
        return time.perf_counter() - started, r.status


async def run(tmp: Path) -> dict[str, Any]:
    hub = Hub(tmp, extra_env={"HUB_TRUSTED_PROXIES": "127.0.0.1/32"})
    out: dict[str, Any] = {"temp_dir": str(tmp), "tries": TRIES, "at_once": AT_ONCE}
    try:
        await hub.start()
        async with aiohttp.ClientSession() as http:
            real, missing = [], []
            for i in range(TRIES):  # interleaved, so both meet the same machine
                # alice's slots are 5 a minute: every fifth try is right, which clears her count
                real.append((await _timed_login(http, hub, "alice", "wrong-pw" if i % 5 else "alice-pw", f"10.1.{i}.1"))[0])
                missing.append((await _timed_login(http, hub, f"nobody-{i}", "wrong-pw", f"10.2.{i}.1"))[0])
            out["real_user_ms"] = statistics.median(real) * 1000
            out["missing_user_ms"] = statistics.median(missing) * 1000
            out["ratio"] = out["missing_user_ms"] / out["real_user_ms"]
            poll = HealthPoll(hub.url)
            poll.start()
            await asyncio.sleep(1.0)
            started = time.monotonic()
            # 20 usernames (one's own limit would refuse most before bcrypt): each is checked
            answers = await asyncio.gather(*(_timed_login(http, hub, f"guest{i}", "some-pw", f"10.3.{i}.1") for i in range(AT_ONCE)))
            ended = time.monotonic()
            await asyncio.sleep(0.3)
            await poll.stop()
            out["logins_s"] = ended - started
            out["logins_checked"] = sum(1 for _, status in answers if status == 401)
            out.update(poll.between(started, ended))
    finally:
        hub.stop()
    return out


def line(o: dict[str, Any]) -> str:
    return (f"sign-in: missing user {o['missing_user_ms']:.0f} ms vs real user {o['real_user_ms']:.0f} ms (median of {o['tries']}, "
            f"ratio {o['ratio']:.2f}); {o['at_once']} sign-ins at once ({o['logins_checked']} checked by bcrypt, {o['logins_s']:.2f} s): "
            f"/healthz p50 {o['healthz_p50_ms']:.0f} / p99 {o['healthz_p99_ms']:.0f} / max {o['healthz_max_ms']:.0f} ms "
            f"({o['healthz_answers']} answers, {o['healthz_failed']} failed)")


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(Path(tempfile.mkdtemp(prefix="bench-logins-")))), indent=1))
