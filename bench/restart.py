"""What the log archive costs and what a restart takes (issue 14), as `contacthub run` runs it.

For each size N: a fresh `contacthub run` (embedded broker, archive on) is sent N API
messages from 1,000 senders, a few in flight at a time, until the read model has every one; then
the archive's rows and bytes per topic are counted, the run is stopped with SIGTERM and
started again, and its log says how long the refill (the archive written back to the empty
broker) and the rebuild (the worker folding the refilled history until its timers run) took,
beside the time until /readyz answered 200. Prints figures; asserts nothing."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bench.stats import pct
from hub.archive.writeahead import DatabaseWriteAhead
from hub.store import db as store_db
from hub.store.models import ArchivedRecord, Message
from tests.support.run import RunningHub

SENDERS = 1000


async def fill(hub: Any, key: str, messages: int, concurrency: int, senders: int = SENDERS, tag: str = "restart") -> dict[str, Any]:
    """N messages from `senders` senders, `concurrency` in flight at a time (as fast as the
    hub takes them: an open loop beyond its rate only measures timeouts); returns once the
    read model has them all. `hub`: a started tests.support Hub or RunningHub."""
    run = uuid.uuid4().hex[:8]
    answered: list[float] = []
    errors = 0
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:

        async def send(i: int) -> None:
            nonlocal errors
            body = {"id": f"{tag}-{run}-{i}", "from": f"{tag}-user-{i % senders}", "text": f"order {i} where is it? {tag}:{run}"}
            async with sem:
                t0 = time.perf_counter()
                try:
                    async with http.post(f"{hub.url}/api/v1/inbound", json=body, headers={"X-Api-Key": key}) as r:
                        await r.read()
                        if r.status == 202:
                            answered.append((time.perf_counter() - t0) * 1000)
                        else:
                            errors += 1
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(send(i) for i in range(messages)))
        sent_s = time.perf_counter() - t0
    projected = await until_projected(hub, f"%{tag}:{run}", len(answered))
    return {"accepted": len(answered), "errors": errors, "post_p99_ms": pct(answered, 99), "send_s": sent_s,
            "accepted_per_s": len(answered) / sent_s if sent_s else 0.0, "projected_s": time.perf_counter() - t0, "in_read_model": projected}


async def until_projected(hub: Any, pattern: str, expected: int, timeout: float = 900) -> int:
    engine = store_db.make_engine(hub.db_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            async with store_db.sessionmaker(engine)() as s:
                count = int(await s.scalar(select(func.count()).select_from(Message).where(Message.text.like(pattern))) or 0)
            if count >= expected or time.monotonic() > deadline:
                return count
            await asyncio.sleep(1)
    finally:
        await engine.dispose()


async def archive_size(hub: RunningHub) -> dict[str, Any]:
    engine = store_db.make_engine(hub.db_url)
    try:
        async with store_db.sessionmaker(engine)() as s:
            rows = await s.execute(select(ArchivedRecord.topic, func.count(),
                                          func.sum(func.length(ArchivedRecord.key) + func.length(ArchivedRecord.value)))
                                   .group_by(ArchivedRecord.topic))
            topics = {t: {"records": int(n), "bytes": int(b or 0)} for t, n, b in rows}
        written_ahead = DatabaseWriteAhead.beside(hub.db_url, store_db.sessionmaker(engine))
        ahead = len(await written_ahead.pending())
        await written_ahead.close()
    finally:
        await engine.dispose()
    return {"topics": topics, "records": sum(t["records"] for t in topics.values()), "bytes": sum(t["bytes"] for t in topics.values()),
            "written_ahead_left": ahead}


def logged(hub: RunningHub, start: int, message: str) -> dict[str, Any] | None:
    """The JSON log line of start number `start` whose message is `message`."""
    path = hub.tmp / f"run-{start}.log"
    for line in path.read_text(errors="replace").splitlines():
        if message in line and line.startswith("{"):
            try:
                return dict(json.loads(line))
            except ValueError:
                continue
    return None


async def measure(messages: int, concurrency: int, database: str) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"hub-restart-{messages}-"))
    hub = RunningHub(tmp, database)
    try:
        t = time.perf_counter()
        await hub.start()
        first_start = time.perf_counter() - t
        key = hub.cli("apikeys", "add", "bench").stdout.strip().split()[-1]
        filled = await fill(hub, key, messages, concurrency)
        await asyncio.sleep(2)  # the archiver's last polls
        size = await archive_size(hub)
        db_file = sum(p.stat().st_size for p in tmp.glob("hub*.db*")) if database == "sqlite" else None
        hub.stop()
        t = time.perf_counter()
        await hub.start(ready_timeout=1800)  # the rebuild of 100,000 messages takes minutes
        ready = time.perf_counter() - t
        refill = logged(hub, 2, "log refilled from the archive") or {}
        caught = logged(hub, 2, "caught up on the refilled log") or {}
        return {"messages": messages, "concurrency": concurrency, "database": database, "first_start_s": first_start, "fill": filled, "archive": size,
                "db_file_bytes": db_file, "refill_s": refill.get("seconds"), "refill_records": refill.get("records"),
                "rebuild_s": caught.get("seconds"), "ready_after_start_s": ready, "temp_dir": str(tmp)}
    finally:
        hub.kill_leftovers()


def report(rows: list[dict[str, Any]]) -> None:
    print("\nrestart (`contacthub run`, archive on): N API messages, SIGTERM, start again")
    head = (f"{'messages':>8} | {'202 p99':>7} {'msg/s':>5} {'fill s':>6} | {'archived':>8} {'bytes':>11} {'per 10k msgs':>12} {'db file':>11} | "
            f"{'refill s':>8} {'rebuild s':>9} {'ready s':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        a, f = r["archive"], r["fill"]
        per10k = a["bytes"] / max(1, f["in_read_model"]) * 10_000
        print(f"{r['messages']:>8} | {f['post_p99_ms']:>7.1f} {f['accepted_per_s']:>5.0f} {f['projected_s']:>6.0f} | {a['records']:>8} {a['bytes']:>11,} {per10k:>12,.0f} "
              f"{r['db_file_bytes'] or 0:>11,} | {_num(r['refill_s']):>8} {_num(r['rebuild_s']):>9} {r['ready_after_start_s']:>7.1f}")
        print("          per topic: " + ", ".join(f"{t} {v['records']} records {v['bytes']:,} B" for t, v in sorted(a["topics"].items()))
              + f"; {f['in_read_model']}/{f['accepted']} in the read model; {a['written_ahead_left']} written-ahead rows left")


def _num(x: Any) -> str:
    return f"{x:.1f}" if isinstance(x, (int, float)) else "-"


async def run_all(sizes: list[int], concurrency: int, database: str) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        print(f"restart bench: {n} messages, {concurrency} in flight ...", flush=True)
        try:
            rows.append(await measure(n, concurrency, database))
        except Exception as exc:  # noqa: BLE001 - report the sizes measured, and this failure
            print(f"restart bench of {n} messages failed: {exc!r}"[:2000], flush=True)
            break
        report(rows[-1:])
    if len(rows) > 1:
        report(rows)
    return rows
