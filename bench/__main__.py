"""End-to-end benchmark: API channel POST -> agent live socket, beside raw aiokafka.

    python -m bench [--rates 100,500,1000,2000] [--seconds 10] [--database sqlite|postgres]
                    [--archive-rates 100] [--restart-messages 10000] [--restart-concurrency 16]
                    [--no-pages | --pages-only] [--pages-conversations 10000] [--pages-postgres URL]

Open loop: messages are sent at fixed times whatever the answers, so a slow hub shows as
latency, not as a lower offered rate. Prints figures and exits 0 whether or not they are
good; it asserts nothing. The hub's temp dir (worker.log, web.log, broker.log) is kept.
Then, unless --no-pages, the page timings of bench/pages.py (every page and API read with
10,000 conversations in the database) on SQLite and, given a URL, on PostgreSQL.

The rates run with HUB_ARCHIVE off (as deploy/ runs on Apache Kafka); --archive-rates run
again on a hub with the archive on (as `contacthub run` runs), and --restart-messages
measure the archive's size and a restart's refill and rebuild (bench/restart.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import aiohttp

from bench import pages, restart
from bench.baseline import Baseline
from bench.hubload import LiveSocket, api_request, hub_run, sms_request
from tests.support import Hub

RESULTS = Path(__file__).parent / "results"


def peak_rss_mb(pid: int | str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU the process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return math.nan


def role_pids(hub: Hub) -> dict[str, int | None]:
    return {**{role: proc.pid for role, proc in hub.procs.items()}, "broker": hub.broker.process.pid if hub.broker.process else None}


def no_nan(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: no_nan(v) for k, v in x.items()}
    if isinstance(x, list):
        return [no_nan(v) for v in x]
    return x


def rate_list(text: str) -> list[int]:
    try:
        rates = [int(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not rates or min(rates) <= 0:
        raise argparse.ArgumentTypeError("give positive rates, e.g. 100,500")
    return rates


def ratio(a: float, b: float) -> float:
    return a / b if b and math.isfinite(a) and math.isfinite(b) else math.nan


# The SMS channel is on during the bench so its webhook can be measured; nothing is sent.
SMS_ENV = {"TWILIO_ACCOUNT_SID": "AC" + "b" * 32, "TWILIO_AUTH_TOKEN": "bench-token", "TWILIO_FROM_NUMBER": "+15005550006",
           "HUB_PUBLIC_URL": "https://bench.example.com"}


async def measure(args: argparse.Namespace, rates: list[int], hub: Hub, rows: list[dict[str, Any]], rss: dict[str, float], sms_rows: list[dict[str, Any]] | None) -> None:
    t = time.perf_counter()
    await hub.start()
    print(f"hub up in {time.perf_counter() - t:.1f} s at {hub.url}, broker {hub.broker.bootstrap}", flush=True)
    key = (await asyncio.to_thread(hub.cli, "apikeys", "add", "bench")).stdout.splitlines()[0].strip()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        token = (await hub.login(http))["Authorization"].split()[1]
    live = LiveSocket(hub.url, token)
    baseline = Baseline(hub.broker.bootstrap)
    await live.start()
    try:
        await baseline.start()
        # Warm-up: connections, key cache, the first contacts and conversations.
        await hub_run(hub.url, api_request(key), live, 50, 2, drain=15)
        await live.settle()
        for rate in rates:
            pids = role_pids(hub)
            cpu_before = {role: cpu_seconds(pid) for role, pid in pids.items()}
            h = await hub_run(hub.url, api_request(key), live, rate, args.seconds, drain=args.drain)
            settled = await live.settle(timeout=args.settle)
            # CPU per accepted message, the load's and its catching up: steadier than msg/s on a saturated machine
            h["cpu_ms_per_msg"] = {role: 1000 * (cpu_seconds(pid) - cpu_before[role]) / max(1, h["accepted"]) for role, pid in pids.items()}
            missing = h.pop("missing_tokens")
            h["late"] = sum(1 for tok in missing if tok in live.seen)  # arrived after the drain, before settling
            h["settle_s"] = settled
            b = await baseline.run(rate, args.seconds, drain=args.drain)
            rows.append({"rate": rate, "hub": h, "baseline": b})
            print(
                f"rate {rate}/s: hub {h['accepted']}/{h['started']} accepted (202 p99 {h['post_p99_ms']:.0f} ms), {h['msg_per_s']:.0f} msg/s, p50 {h['p50_ms']:.0f} ms, "
                f"p99 {h['p99_ms']:.0f} ms, lost {h['lost']} (late {h['late']}), errors {h['errors']} {h['error_kinds'] or ''}"
                f"| baseline {b['msg_per_s']:.0f} msg/s, p50 {b['p50_ms']:.1f} ms, p99 {b['p99_ms']:.1f} ms, lost {b['lost']}, errors {b['errors']}",
                flush=True,
            )
        if args.sms_rate and sms_rows is not None:  # once, on the hub as deploy/ runs it
            sms = sms_request(SMS_ENV["HUB_PUBLIC_URL"], SMS_ENV["TWILIO_ACCOUNT_SID"], SMS_ENV["TWILIO_AUTH_TOKEN"])
            h = await hub_run(hub.url, sms, live, args.sms_rate, args.seconds, drain=args.drain)
            await live.settle(timeout=args.settle)
            h.pop("missing_tokens")
            sms_rows.append({"rate": args.sms_rate, "hub": h})
            print(f"sms webhook at {args.sms_rate}/s: {h['accepted']}/{h['started']} answered 200 (p99 {h['post_p99_ms']:.0f} ms), "
                  f"webhook -> agent queue p50 {h['p50_ms']:.0f} ms, p99 {h['p99_ms']:.0f} ms, lost {h['lost']}, errors {h['errors']}", flush=True)
        rss["live_socket_disconnects"] = live.disconnects
    finally:
        await baseline.stop()
        await live.stop()
        for role, proc in hub.procs.items():
            rss[role] = peak_rss_mb(proc.pid)
        if hub.broker.process is not None:
            rss["broker"] = peak_rss_mb(hub.broker.process.pid)


def report(args: argparse.Namespace, tmp: Path, rows: list[dict[str, Any]], rss: dict[str, float], sms_rows: list[dict[str, Any]], archive: bool) -> None:
    print()
    print(f"database {args.database}; archive {'on' if archive else 'off'}; {args.seconds:g} s per rate; {os.cpu_count()} CPUs shared by bench, broker, worker, web")
    print("hub = POST /api/v1/inbound -> message.created on the agent live socket (202 p99: time to the POST's answer);")
    print("baseline = aiokafka produce(acks=all, linger 1 ms) -> consume on the same broker; latencies in ms from the send's start")
    head = (f"{'offered':>7} | {'accepted':>8} {'202 p99':>7} {'hub msg/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'lost':>5} {'err':>4} | "
            f"{'raw msg/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'lost':>4} | {'thru hub/raw':>12} {'p99 hub/raw':>11}")
    print(head)
    print("-" * len(head))
    for r in rows:
        h, b = r["hub"], r["baseline"]
        print(
            f"{r['rate']:>7} | {h['accepted']:>8} {h['post_p99_ms']:>7.1f} {h['msg_per_s']:>9.0f} {h['p50_ms']:>8.1f} {h['p90_ms']:>8.1f} {h['p99_ms']:>8.1f} {h['max_ms']:>8.1f} "
            f"{h['lost']:>5} {h['errors']:>4} | {b['msg_per_s']:>9.0f} {b['p50_ms']:>7.1f} {b['p99_ms']:>7.1f} {b['lost']:>4} | "
            f"{ratio(h['msg_per_s'], b['msg_per_s']):>12.2f} {ratio(h['p99_ms'], b['p99_ms']):>11.1f}"
        )
    for r in sms_rows:
        h = r["hub"]
        print(f"sms webhook -> agent queue at {r['rate']}/s offered: {h['msg_per_s']:.0f} msg/s, 200 answer p50 {h['post_p50_ms']:.1f} / p99 {h['post_p99_ms']:.1f} ms, "
              f"to the queue p50 {h['p50_ms']:.1f} / p90 {h['p90_ms']:.1f} / p99 {h['p99_ms']:.1f} / max {h['max_ms']:.1f} ms, lost {h['lost']}, errors {h['errors']}")
    cpu = ["{}: {}".format(r["rate"], ", ".join(f"{role} {ms:.1f}" for role, ms in r["hub"].get("cpu_ms_per_msg", {}).items())) for r in rows]
    if cpu:
        print("CPU ms per accepted message (user+system, during the load and until settled): " + "; ".join(cpu))
    lags = [f"{r['rate']}: hub {r['hub']['send_lag_max_ms']:.0f}, raw {r['baseline']['send_lag_max_ms']:.0f}" for r in rows]
    if lags:
        print("client send lag, max ms (bench falling behind its schedule): " + "; ".join(lags))
    mem = [f"{k} {v:.0f}" for k, v in rss.items() if k != "live_socket_disconnects"] + [f"bench {peak_rss_mb('self'):.0f}"]
    print(f"peak RSS (VmHWM, MB): {', '.join(mem)}")
    if rss.get("live_socket_disconnects"):
        print(f"live socket dropped {rss['live_socket_disconnects']} time(s)")
    print(f"hub logs: {tmp}/worker.log, {tmp}/web.log, {tmp}/broker.log")


async def main(args: argparse.Namespace) -> int:
    failed = False
    if not args.pages_only:
        failed = bool(await throughput(args, args.rates, archive=False))
        if args.archive_rates:
            print("\nthe same with the archive on (HUB_ARCHIVE=1, as `contacthub run`)", flush=True)
            failed = bool(await throughput(args, args.archive_rates, archive=True)) or failed
        if args.restart_messages:
            rows = await restart.run_all(args.restart_messages, args.restart_concurrency, args.database)
            if args.json:
                RESULTS.mkdir(exist_ok=True)
                (RESULTS / "restart.json").write_text(json.dumps(no_nan(rows), indent=1))
    if args.pages:
        print("\npage timings (bench/pages.py)", flush=True)
        failed = bool(await pages.run_all(args.pages_conversations, args.pages_repeat, postgres_url=args.pages_postgres,
                                          write_json=args.json)) or failed
    return 1 if failed else 0


async def throughput(args: argparse.Namespace, rates: list[int], archive: bool) -> int:
    # SIGTERM (and SIGINT where it is not ignored) cancel the run; the hub is stopped either way.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    print(f"temp dir: {tmp}", flush=True)
    hub = Hub(tmp, args.database, extra_env={**SMS_ENV, "HUB_ARCHIVE": "1" if archive else "0"})
    rows: list[dict[str, Any]] = []
    sms_rows: list[dict[str, Any]] = []
    rss: dict[str, float] = {}
    failed = False
    try:
        await measure(args, rates, hub, rows, rss, None if archive else sms_rows)
    except asyncio.CancelledError:
        failed = True
        print("interrupted; stopping the hub", file=sys.stderr, flush=True)
    except Exception:  # noqa: BLE001 - report what was measured, then the failure
        failed = True
        traceback.print_exc()
    finally:
        hub.stop()  # blocking on purpose: it must run even when the task is being cancelled
    report(args, tmp, rows, rss, sms_rows, archive)
    if args.json:
        RESULTS.mkdir(exist_ok=True)
        out = {"database": args.database, "archive": archive, "seconds": args.seconds, "cpus": os.cpu_count(), "temp_dir": str(tmp),
               "rows": rows, "sms_webhook": sms_rows, "peak_rss_mb": {**rss, "bench": peak_rss_mb("self")}, "failed": failed}
        (RESULTS / ("archive-on.json" if archive else "latest.json")).write_text(json.dumps(no_nan(out), indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=rate_list, default=[100, 500, 1000, 2000], help="offered rates, messages per second, comma separated")
    parser.add_argument("--seconds", type=float, default=10, help="seconds of load per rate")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--drain", type=float, default=15, help="seconds to wait for pushes after the last answer")
    parser.add_argument("--settle", type=float, default=20, help="at most this long for the hub to go quiet between rates")
    parser.add_argument("--archive-rates", type=lambda t: rate_list(t) if t.strip() not in ("", "0") else [], default=[100],
                        help="rates run again with HUB_ARCHIVE on (0: skip)")
    parser.add_argument("--restart-messages", type=lambda t: rate_list(t) if t.strip() not in ("", "0") else [], default=[10_000],
                        help="sizes of the restart bench, messages, comma separated (0: skip)")
    parser.add_argument("--restart-concurrency", type=int, default=16, help="API requests in flight while filling the restart bench")
    parser.add_argument("--sms-rate", type=int, default=100, help="offered rate of signed Twilio webhooks after the API rates (0: skip)")
    parser.add_argument("--no-json", dest="json", action="store_false", help="do not write bench/results/latest.json and pages.json")
    parser.add_argument("--no-pages", dest="pages", action="store_false", help="skip the page timings after the throughput part")
    parser.add_argument("--pages-only", action="store_true", help="only the page timings")
    pages.add_arguments(parser, prefix="pages-")
    sys.exit(asyncio.run(main(parser.parse_args())))
