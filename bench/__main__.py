"""End-to-end benchmark: API channel POST -> agent live socket, beside raw aiokafka.

    python -m bench [--rates 100,500,1000,2000] [--seconds 10] [--database sqlite|postgres]

Open loop: messages are sent at fixed times whatever the hub's answers, so a slow hub shows
as latency, not as a lower offered rate. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.support import Hub

RESULTS = Path(__file__).parent / "results"


def pct(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


async def open_loop(rate: int, seconds: float, send: Callable[[int], Awaitable[None]]) -> None:
    start = time.perf_counter()
    tasks = []
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i)))
    await asyncio.gather(*tasks)


async def wait_for(seen: dict[str, float], expected: int, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while len(seen) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)


def summarise(sent: dict[str, float], seen: dict[str, float], errors: int) -> dict[str, Any]:
    lat = [(seen[k] - sent[k]) * 1000 for k in seen if k in sent]
    first, last = (min(sent.values()), max(seen.values())) if sent and seen else (0.0, 0.0)
    return {
        "sent": len(sent), "delivered": len(lat), "errors": errors, "lost": len(sent) - len(lat),
        "msg_per_s": len(lat) / (last - first) if last > first else 0.0,
        "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90), "p99_ms": pct(lat, 99), "max_ms": max(lat, default=float("nan")),
    }


async def hub_run(hub: Hub, key: str, token: str, rate: int, seconds: float) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:
        live = await http.ws_connect(f"{hub.url}/api/v1/live?token={token}")

        async def listen() -> None:
            async for msg in live:
                frame = json.loads(msg.data)
                if frame.get("type") == "message.created":
                    text = frame["message"]["text"]
                    if text.startswith(f"bench {run} "):
                        seen.setdefault(text, time.perf_counter())

        listener = asyncio.create_task(listen())

        async def send(i: int) -> None:
            nonlocal errors
            text = f"bench {run} {i}"
            body = {"id": f"{run}-{i}", "from": f"bench-user-{i % 200}", "name": "", "text": text}
            t0 = time.perf_counter()
            try:
                async with http.post(f"{hub.url}/api/v1/inbound", json=body, headers={"X-Api-Key": key}) as r:
                    if r.status == 202:
                        sent[text] = t0
                    else:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1

        await open_loop(rate, seconds, send)
        await wait_for(seen, len(sent), 15)
        listener.cancel()
        await live.close()
    return summarise(sent, seen, errors)


async def baseline_run(bootstrap: str, rate: int, seconds: float) -> dict[str, Any]:
    topic = f"bench.baseline.{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 4, 1)])
    await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, fetch_max_wait_ms=10)
    await consumer.start()
    for _ in range(50):
        parts = consumer.partitions_for_topic(topic)
        if parts:
            break
        await consumer._client.force_metadata_update()  # noqa: SLF001
        await asyncio.sleep(0.1)
    tps = [TopicPartition(topic, p) for p in sorted(parts or [])]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:
        await consumer.position(tp)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=1)
    await producer.start()
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    errors = 0

    async def listen() -> None:
        async for record in consumer:
            seen.setdefault(record.value.decode(), time.perf_counter())

    listener = asyncio.create_task(listen())

    async def send(i: int) -> None:
        nonlocal errors
        value = f"b{i}"
        t0 = time.perf_counter()
        try:
            await producer.send_and_wait(topic, value.encode(), key=str(i % 200).encode())
            sent[value] = t0
        except Exception:  # noqa: BLE001
            errors += 1

    await open_loop(rate, seconds, send)
    await wait_for(seen, len(sent), 15)
    listener.cancel()
    await producer.stop()
    await consumer.stop()
    return summarise(sent, seen, errors)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main(args: argparse.Namespace) -> None:
    rates = [int(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        hub = await Hub(Path(tmp), args.database).start()
        rows = []
        try:
            key = hub.cli("apikeys", "add", "bench").stdout.split()[0]
            async with aiohttp.ClientSession() as http:
                token = (await hub.login(http))["Authorization"].split()[1]
            await hub_run(hub, key, token, 50, 2)  # warm-up: connections, first conversations
            for rate in rates:
                h = await hub_run(hub, key, token, rate, args.seconds)
                b = await baseline_run(hub.broker.bootstrap, rate, args.seconds)
                rows.append({"rate": rate, "hub": h, "baseline": b})
                print(f"rate {rate}/s done: hub {h['msg_per_s']:.0f} msg/s p99 {h['p99_ms']:.0f} ms, baseline p99 {b['p99_ms']:.0f} ms", flush=True)
            rss = {role: peak_rss_mb(p.pid) for role, p in hub.procs.items()}
        finally:
            hub.stop()
    print()
    print(f"database: {args.database}; {args.seconds:g} s per rate; hub = POST /api/v1/inbound accepted -> message.created on the agent live socket")
    print(f"{'offered':>8} | {'hub msg/s':>9} {'p50':>7} {'p90':>7} {'p99':>7} {'lost':>5} {'err':>4} | {'raw msg/s':>9} {'p50':>7} {'p99':>7} | {'thru ratio':>10} {'p99 ratio':>9}")
    for r in rows:
        h, b = r["hub"], r["baseline"]
        print(
            f"{r['rate']:>8} | {h['msg_per_s']:>9.0f} {h['p50_ms']:>7.1f} {h['p90_ms']:>7.1f} {h['p99_ms']:>7.1f} {h['lost']:>5} {h['errors']:>4} | "
            f"{b['msg_per_s']:>9.0f} {b['p50_ms']:>7.1f} {b['p99_ms']:>7.1f} | {h['msg_per_s'] / b['msg_per_s'] if b['msg_per_s'] else 0:>10.2f} {h['p99_ms'] / b['p99_ms'] if b['p99_ms'] else 0:>9.1f}"
        )
    print("peak RSS (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in rss.items()) + f", bench {peak_rss_mb(__import__('os').getpid()):.0f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({"database": args.database, "seconds": args.seconds, "rows": rows, "peak_rss_mb": rss}, indent=1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--rates", default="100,500,1000,2000")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    asyncio.run(main(parser.parse_args()))
