"""What the hub holds, beyond the rates of bench/__main__.py: the highest rate it keeps up
with for 30 s, one worker against two at saturation, 100,000 open conversations with their
clocks (the worker's CPU while idle, its memory, a breach still on time), and a CPU profile
of each process (hub/profiling.py)."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import lag, restart
from bench.hubload import LiveSocket, api_request, hub_run
from bench.install import Install
from bench.procs import cpu_seconds, rss_mb
from hub import profiling
from tests.support import Hub
from tests.support.hub import Restarts

KEPT_UP = 0.95  # delivered per second of offered, to count as keeping up


def kept_up(row: dict[str, Any]) -> bool:
    h = row["hub"]
    return bool(h["accepted"]) and h["lost"] == 0 and h["errors"] == 0 and h["msg_per_s"] >= KEPT_UP * row["rate"]


def highest_kept(rows: list[dict[str, Any]]) -> int | None:
    return max((r["rate"] for r in rows if kept_up(r)), default=None)


def spawn_worker(hub: Hub, name: str) -> subprocess.Popen[bytes]:
    log = open(hub.tmp / f"{name}.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "worker"], env=hub.env, stdout=log, stderr=subprocess.STDOUT, cwd=hub.tmp)
    hub.procs[name] = proc
    return proc


async def two_workers(hub: Hub, key: str, live: LiveSocket, rate: int, seconds: float, drain: float, one: dict[str, Any]) -> dict[str, Any]:
    """`rate` again once a second worker shares the partitions (`one`: the same rate on one)."""
    spawn_worker(hub, "worker2")
    await asyncio.sleep(20)  # a join and a rebalance: ~5-13 s with the worker's timeouts
    await live.settle()
    h = await hub_run(hub.url, api_request(key), live, rate, seconds, drain=drain)
    h.pop("missing_tokens")
    return {"rate": rate, "one_worker": one, "two_workers": h, "speedup": h["msg_per_s"] / one["msg_per_s"] if one.get("msg_per_s") else math.nan}


async def open_conversations(count: int, database: str, concurrency: int = 32, probe_after: float = 20.0,
                             fetch_wait_ms: int | None = None, catch_up_timeout: float = 3600.0, profile_catch_up: bool = False) -> dict[str, Any]:
    """`count` conversations left open (each with its first-response and resolution clocks),
    then, once the worker's agents have read everything the fill wrote (at most
    `catch_up_timeout` s), the worker idle for 20 s, then a Telegram message on a
    `probe_after` clock. `profile_catch_up`: each process sampled (hub/profiling.py) from the
    end of the fill until the agents caught up; the profiles are in the result's `profiles`.
    `fetch_wait_ms`: HUB_FETCH_MAX_WAIT_MS of this hub. The embedded broker's memory engine
    lists every batch of a partition on each fetch (Tansu's DynoStore `fetch`), so with the
    default 10 ms wait its CPU grows with the log until a 100,000-conversation fill stalls."""
    tmp = Path(tempfile.mkdtemp(prefix="hub-open-"))
    install = Install(tmp, probe=f"{probe_after:g}s")
    env = await install.start()
    if fetch_wait_ms:
        env["HUB_FETCH_MAX_WAIT_MS"] = str(fetch_wait_ms)
    profiles = tmp / "profiles"
    if profile_catch_up:
        env["HUB_PROFILE_DIR"] = str(profiles)
    hub = Hub(tmp, database, extra_env=env)
    out: dict[str, Any] = {"conversations": count, "temp_dir": str(tmp), "fetch_wait_ms": fetch_wait_ms or 10}
    try:
        await hub.start()
        key = (await asyncio.to_thread(hub.cli, "apikeys", "add", "bench")).stdout.splitlines()[0].strip()
        # A worker whose stall watch ends it is started again, as `contacthub run` does; the
        # figures say how often, and the idle ones are taken from a worker that lived through them.
        async with Restarts(hub) as restarts:
            out["fill"] = await restart.fill(hub, key, count, concurrency, senders=count, tag="open")  # a sender each: one open conversation each
            out["worker_restarts_during_fill"] = restarts.count
            # the read model has them all before the agents behind it are done (assignment
            # and the clocks): "idle" is a worker with nothing left to read
            if profile_catch_up:
                profiles.mkdir(exist_ok=True)
                (profiles / profiling.ON).touch()
            out["catch_up"] = await lag.until_caught_up(hub.broker.bootstrap, hub.env["HUB_APP_ID"], catch_up_timeout)
            (profiles / profiling.ON).unlink(missing_ok=True)
            await asyncio.sleep(5)
            worker = hub.procs["worker"].pid
            broker = hub.broker.process.pid if hub.broker.process else None
            broker_before = cpu_seconds(broker) if broker else 0.0
            before, t = cpu_seconds(worker), time.perf_counter()
            await asyncio.sleep(20)
            out["idle_worker_cpu_pct"] = 100 * (cpu_seconds(worker) - before) / (time.perf_counter() - t)
            if broker:
                out["idle_broker_cpu_pct"] = 100 * (cpu_seconds(broker) - broker_before) / (time.perf_counter() - t)
                out["broker_rss_mb"] = rss_mb(broker)
            out["worker_rss_mb"], out["worker_peak_rss_mb"] = rss_mb(worker), rss_mb(worker, "VmHWM")
            # the probe: a Telegram message whose first response falls due `probe_after` later
            install.telegram.queue_update(probe_update())
            # its clock starts when intake opens the conversation, which a worker still
            # behind on the fill does late: wait for the breach, not for a fixed time
            deadline = time.perf_counter() + probe_after + 180
            out["probe"] = breach_logged(hub.tmp / "worker.log", "probe")
            while out["probe"]["fired_s_after_due"] is None and time.perf_counter() < deadline:
                await asyncio.sleep(1)
                out["probe"] = breach_logged(hub.tmp / "worker.log", "probe")
            out["worker_restarts"] = restarts.count
    finally:
        hub.stop()
        await install.stop()
    if profile_catch_up:
        out["profiles"] = {p.name: p.read_text() for p in sorted(profiles.glob("*.txt"))}
    return out


def probe_update() -> dict[str, Any]:
    chat = 700_000_000 + int(time.time()) % 1_000_000
    user = {"id": chat, "is_bot": False, "first_name": "Probe"}
    return {"message": {"message_id": 1, "date": int(time.time()), "chat": {"id": chat, "type": "private", "first_name": "Probe"},
                        "from": user, "text": "hello, is anybody there?"}}


def breach_logged(log: Path, policy: str) -> dict[str, Any]:
    """The worker's "sla breached" line of `policy`: how late after its deadline it fired."""
    for line in log.read_text(errors="replace").splitlines():
        if '"sla breached"' in line and f'"policy": "{policy}"' in line:
            try:
                data = json.loads(line)
            except ValueError:
                continue
            return {"fired_s_after_due": -float(data.get("seconds_to_due", math.nan)), "due_at": data.get("due_at"), "clock": data.get("clock")}
    return {"fired_s_after_due": None, "note": "no breach logged"}


async def profile(rate: int, seconds: float, database: str, archive: bool) -> dict[str, Any]:
    """Every process of a hub at `rate`, under yappi; the top of each profile."""
    tmp = Path(tempfile.mkdtemp(prefix="hub-profile-"))
    install = Install(tmp)
    out_dir = tmp / "profile"
    hub = Hub(tmp, database, extra_env={**await install.start(), "HUB_PROFILE_DIR": str(out_dir), "HUB_ARCHIVE": "1" if archive else "0"})
    result: dict[str, Any] = {"rate": rate, "seconds": seconds, "archive": archive, "dir": str(out_dir)}
    try:
        await hub.start()
        key = (await asyncio.to_thread(hub.cli, "apikeys", "add", "bench")).stdout.splitlines()[0].strip()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            token = (await hub.login(http))["Authorization"].split()[1]
        live = LiveSocket(hub.url, token)
        await live.start()
        try:
            await hub_run(hub.url, api_request(key), live, 50, 2, drain=15)  # warm-up, as the rates have
            await live.settle()
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / profiling.ON).touch()  # the samplers count from here
            h = await hub_run(hub.url, api_request(key), live, rate, seconds, drain=15)
            (out_dir / profiling.ON).unlink()
            h.pop("missing_tokens")
            result["hub"] = h
        finally:
            await live.stop()
    finally:
        hub.stop()
        await install.stop()
    result["top"] = {p.name: p.read_text().splitlines()[:14] for p in sorted(out_dir.glob("*.txt"))}
    return result
