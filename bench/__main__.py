"""End-to-end benchmark: API channel POST -> agent live socket, beside raw aiokafka.

    python -m bench [--rates 100,500,1000,2000] [--seconds 10] [--database sqlite|postgres] [--bare]
                    [--hold-seconds 30] [--no-two-workers] [--open-conversations 100000] [--timer-clocks 100000]
                    [--profile-rate 1000] [--profile-seconds 15]
                    [--archive-rates 100] [--thread-projector-rates 100,1000] [--restart-messages 10000] [--restart-concurrency 16]
                    [--no-pages | --pages-only] [--pages-conversations 10000] [--pages-postgres URL]

The hub is configured as a real install (bench/install.py: SLA policies, a complaint ladder,
every channel on; --bare for none). After the rates: the highest rate kept up with, held
for 30 s; the highest rate offered again with a second worker; then, on hubs of their own,
100,000 open conversations (idle CPU, memory, a breach on time, once the worker has read
all the fill wrote), 100,000 open clocks in the worker's timer handlers in process
(bench/timers.py), and a sampled CPU profile of each process with the archive off and on
(bench/capacity.py, hub/profiling.py).

Open loop: messages are sent at fixed times whatever the answers, so a slow hub shows as
latency, not as a lower offered rate. Prints figures and exits 0 whether or not they are
good; it asserts nothing. The hub's temp dir (worker.log, web.log, broker.log) is kept.
Then, unless --no-pages, the page timings of bench/pages.py (every page and API read with
10,000 conversations in the database) on SQLite and, given a URL, on PostgreSQL.

The rates run with HUB_ARCHIVE off (as deploy/ runs on Apache Kafka); --archive-rates run
again on a hub with the archive on (as `contacthub run` runs), --thread-projector-rates on a
hub whose projector is a thread of the worker (HUB_PROJECTOR=thread, as a `contacthub worker`
started alone runs it; every other hub runs it as a process, as `contacthub run` does), and --restart-messages
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

from bench import capacity, pages, restart, security_logins, security_mail, timers
from bench.baseline import Baseline
from bench.hubload import LiveSocket, api_request, hub_run, sms_request
from bench.install import SMS_ENV, Install
from bench.procs import cpu_seconds, rss_mb
from hub.config import RUN_DEFAULTS
from tests.support import Hub

RESULTS = Path(__file__).parent / "results"


def peak_rss_mb(pid: int | str) -> float:
    return rss_mb(pid, "VmHWM")


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


def archive_run(hub: Hub) -> bool:
    return hub.env.get("HUB_ARCHIVE", "0") not in ("0", "off", "false", "no")


def variant_run(hub: Hub) -> bool:
    """A pass that measures the rates again in another shape (the archive on, the projector
    on a thread of the worker): the SMS webhook, the hold and the workers run once, on the first."""
    return archive_run(hub) or hub.env.get("HUB_PROJECTOR") == "thread"


async def hold_and_workers(args: argparse.Namespace, rows: list[dict[str, Any]], hub: Hub, key: str, live: LiveSocket, extra: dict[str, Any]) -> None:
    """The highest rate kept up with, held for --hold-seconds; then the highest rate offered
    again with a second worker beside the first."""
    best = capacity.highest_kept(rows)
    if best and args.hold_seconds:
        await live.settle(timeout=args.settle)
        h = await hub_run(hub.url, api_request(key), live, best, args.hold_seconds, drain=args.drain)
        h.pop("missing_tokens")
        extra["hold"] = {"rate": best, "seconds": args.hold_seconds, "hub": h}
        print(f"held {best}/s for {args.hold_seconds:g} s: {h['accepted']}/{h['started']} accepted, {h['msg_per_s']:.0f} msg/s, "
              f"p99 {h['p99_ms']:.0f} ms, lost {h['lost']}, errors {h['errors']}", flush=True)
    if args.two_workers and rows:
        top = max(rows, key=lambda r: r["rate"])
        await live.settle(timeout=args.settle)
        extra["workers"] = w = await capacity.two_workers(hub, key, live, top["rate"], args.seconds, args.drain, top["hub"])
        print(f"at {top['rate']}/s offered: one worker {top['hub']['msg_per_s']:.0f} msg/s (p99 {top['hub']['p99_ms']:.0f} ms), "
              f"two workers {w['two_workers']['msg_per_s']:.0f} msg/s (p99 {w['two_workers']['p99_ms']:.0f} ms): x{w['speedup']:.2f}", flush=True)


async def measure(args: argparse.Namespace, rates: list[int], hub: Hub, rows: list[dict[str, Any]], rss: dict[str, float], sms_rows: list[dict[str, Any]] | None,
                  extra: dict[str, Any]) -> None:
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
        if not variant_run(hub):  # once, on the hub as deploy/ runs it
            await hold_and_workers(args, rows, hub, key, live, extra)
        rss["live_socket_disconnects"] = live.disconnects
    finally:
        await baseline.stop()
        await live.stop()
        for role, proc in hub.procs.items():
            rss[role] = peak_rss_mb(proc.pid)
        if hub.broker.process is not None:
            rss["broker"] = peak_rss_mb(hub.broker.process.pid)


def report(args: argparse.Namespace, tmp: Path, rows: list[dict[str, Any]], rss: dict[str, float], sms_rows: list[dict[str, Any]], archive: bool,
           projector: str) -> None:
    print()
    print(f"{'bare hub' if args.bare else 'a real install: SLA policies, a complaint ladder, every channel on'}; database {args.database}; archive {'on' if archive else 'off'}; projector {projector}; {args.seconds:g} s per rate; {os.cpu_count()} CPUs shared by bench, broker, worker, web")
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
        if args.thread_projector_rates:
            print("\nthe same with the projector on a thread of the worker (HUB_PROJECTOR=thread, archive off)", flush=True)
            failed = bool(await throughput(args, args.thread_projector_rates, archive=False, projector_thread=True)) or failed
        if args.open_conversations:
            print(f"\n{args.open_conversations} open conversations with their clocks", flush=True)
            opened = await capacity.open_conversations(args.open_conversations, args.database, fetch_wait_ms=args.open_fetch_wait_ms,
                                                      catch_up_timeout=args.open_catch_up_timeout, profile_catch_up=args.open_profile)
            print_open(opened)
            write(args, "open-conversations.json", opened)
        if args.timer_clocks:
            print(f"\n{args.timer_clocks} open clocks in the worker's timer handlers, in process", flush=True)
            clocks = await timers.open_clocks(args.timer_clocks)
            print(timers.line(clocks), flush=True)
            write(args, "open-clocks.json", clocks)
            backlog = timers.queue_backlog(args.timer_clocks)
            print(timers.backlog_line(backlog), flush=True)
            write(args, "queue-backlog.json", backlog)
        if args.profile_rate:
            for archive in (False, True):
                print(f"\nCPU profiles at {args.profile_rate}/s, archive {'on' if archive else 'off'} (the stack sampler of hub/profiling.py, every 10 ms)", flush=True)
                profiled = await capacity.profile(args.profile_rate, args.profile_seconds, args.database, archive)
                print_profile(profiled)
                write(args, f"profile-archive-{'on' if archive else 'off'}.json", profiled)
        if args.security:
            print("\nsecurity: hostile mail and sign-ins against a running hub (issue 17)", flush=True)
            mail = await security_mail.run(Path(tempfile.mkdtemp(prefix="bench-mail-")))
            print(security_mail.line(mail), flush=True)
            logins = await security_logins.run(Path(tempfile.mkdtemp(prefix="bench-logins-")))
            print(security_logins.line(logins), flush=True)
            write(args, "security.json", {"mail": mail, "logins": logins})
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


def write(args: argparse.Namespace, name: str, data: Any) -> None:
    if args.json:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / name).write_text(json.dumps(no_nan(data), indent=1))


def print_open(o: dict[str, Any]) -> None:
    fill, probe, caught = o.get("fill", {}), o.get("probe", {}), o.get("catch_up", {})
    print(f"{o['conversations']} open conversations: {fill.get('accepted')} accepted in {fill.get('send_s', math.nan):.0f} s "
          f"(202 p99 {fill.get('post_p99_ms', math.nan):.0f} ms), {fill.get('in_read_model')} in the read model after {fill.get('projected_s', math.nan):.0f} s, "
          f"the agents caught up {caught.get('caught_up_s')} s after that; "
          f"idle worker {o.get('idle_worker_cpu_pct', math.nan):.1f} % of a core, RSS {o.get('worker_rss_mb', math.nan):.0f} MB "
          f"(peak {o.get('worker_peak_rss_mb', math.nan):.0f}), idle broker {o.get('idle_broker_cpu_pct', math.nan):.1f} % (RSS {o.get('broker_rss_mb', math.nan):.0f} MB, fetch wait {o.get('fetch_wait_ms')} ms); a breach fired {probe.get('fired_s_after_due')} s after its deadline; "
          f"worker started again {o.get('worker_restarts_during_fill')} times during the fill, {o.get('worker_restarts')} in all", flush=True)


def print_profile(p: dict[str, Any]) -> None:
    h = p.get("hub", {})
    print(f"profiled run: {h.get('msg_per_s', math.nan):.0f} msg/s, p99 {h.get('p99_ms', math.nan):.0f} ms; profiles in {p['dir']}")
    for name, lines in p.get("top", {}).items():
        print(f"-- {name}")
        for line in lines:
            print(f"   {line}")


async def throughput(args: argparse.Namespace, rates: list[int], archive: bool, projector_thread: bool = False) -> int:
    # SIGTERM (and SIGINT where it is not ignored) cancel the run; the hub is stopped either way.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    print(f"temp dir: {tmp}", flush=True)
    install = Install(tmp)
    env = {**SMS_ENV, **RUN_DEFAULTS} if args.bare else await install.start()
    hub = Hub(tmp, args.database, extra_env={**env, "HUB_ARCHIVE": "1" if archive else "0", **({"HUB_PROJECTOR": "thread"} if projector_thread else {})})
    extra: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    sms_rows: list[dict[str, Any]] = []
    rss: dict[str, float] = {}
    failed = False
    try:
        await measure(args, rates, hub, rows, rss, None if archive or projector_thread else sms_rows, extra)
    except asyncio.CancelledError:
        failed = True
        print("interrupted; stopping the hub", file=sys.stderr, flush=True)
    except Exception:  # noqa: BLE001 - report what was measured, then the failure
        failed = True
        traceback.print_exc()
    finally:
        hub.stop()  # blocking on purpose: it must run even when the task is being cancelled
        if not args.bare:
            await install.stop()
    report(args, tmp, rows, rss, sms_rows, archive, "thread" if projector_thread else "process")
    if args.json:
        RESULTS.mkdir(exist_ok=True)
        out = {"database": args.database, "archive": archive, "seconds": args.seconds, "cpus": os.cpu_count(), "temp_dir": str(tmp),
               "install": "bare" if args.bare else "sla, ladder, every channel (bench/install.py)", **extra,
               "rows": rows, "sms_webhook": sms_rows, "peak_rss_mb": {**rss, "bench": peak_rss_mb("self")}, "failed": failed}
        name = "archive-on.json" if archive else "projector-thread.json" if projector_thread else "latest.json"
        (RESULTS / name).write_text(json.dumps(no_nan({**out, "projector": "thread" if projector_thread else "process"}), indent=1))
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
    parser.add_argument("--thread-projector-rates", type=lambda t: rate_list(t) if t.strip() not in ("", "0") else [], default=[100, 1000],
                        help="rates run again with the projector on a thread of the worker (HUB_PROJECTOR=thread; 0: skip)")
    parser.add_argument("--restart-messages", type=lambda t: rate_list(t) if t.strip() not in ("", "0") else [], default=[10_000],
                        help="sizes of the restart bench, messages, comma separated (0: skip)")
    parser.add_argument("--restart-concurrency", type=int, default=16, help="API requests in flight while filling the restart bench")
    parser.add_argument("--sms-rate", type=int, default=100, help="offered rate of signed Twilio webhooks after the API rates (0: skip)")
    parser.add_argument("--bare", action="store_true", help="a hub without SLA policies, ladders or channels (before issue 15's bench)")
    parser.add_argument("--hold-seconds", type=float, default=30, help="the highest rate kept up with, held this long (0: skip)")
    parser.add_argument("--no-two-workers", dest="two_workers", action="store_false", help="skip the highest rate again with two workers")
    parser.add_argument("--open-conversations", type=int, default=100_000,
                        help="open conversations on a real hub for the idle and breach figures (0: skip); 100,000 take ~21 min here (performance.md)")
    parser.add_argument("--open-fetch-wait-ms", type=int, default=500,
                        help="HUB_FETCH_MAX_WAIT_MS of the open-conversations hub (the embedded broker's fetch cost grows with the log; performance.md)")
    parser.add_argument("--open-catch-up-timeout", type=float, default=3600.0,
                        help="seconds to wait, after the fill is in the read model, for the worker's agents to read all it wrote")
    parser.add_argument("--open-profile", action="store_true", help="sample each process of the open-conversations hub while its agents catch up")
    parser.add_argument("--timer-clocks", type=int, default=100_000, help="open clocks in the timer handlers in process: tick cost, memory, a breach on time (0: skip)")
    parser.add_argument("--profile-rate", type=int, default=1000, help="offered rate of the profiled runs (0: skip)")
    parser.add_argument("--profile-seconds", type=float, default=15)
    parser.add_argument("--no-security", dest="security", action="store_false", help="skip the security section (hostile mail, sign-in timing)")
    parser.add_argument("--no-json", dest="json", action="store_false", help="do not write bench/results/latest.json and pages.json")
    parser.add_argument("--no-pages", dest="pages", action="store_false", help="skip the page timings after the throughput part")
    parser.add_argument("--pages-only", action="store_true", help="only the page timings")
    pages.add_arguments(parser, prefix="pages-")
    sys.exit(asyncio.run(main(parser.parse_args())))
