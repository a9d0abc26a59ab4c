"""100,000 open clocks in the worker's own SLA and escalation handlers, in this process: how
long the index takes to build (what a rebalance or a restart costs the timers), what a tick
costs while nothing is due, the memory the clocks take, and how late a breach fires after
its deadline when ticks run every 0.25 s of real time as the worker runs them.

The broker, faust and the database are left out on purpose: filling a real hub with 100,000
conversations (`capacity.open_conversations`) slows down as they stay open, for a cause not
found yet (docs/performance.md), so this measures the timers alone at the size the issue
names."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.install import config_with_probe
from bench.procs import rss_mb
from hub import config
from hub import events as ev
from processors.escalation import EscalationHandler
from processors.sla import SlaHandler

TICK = 0.25  # the worker's timer period (processors/pipeline.py)


def conversation(i: int, at: Any, channel: str = "api", text: str = "where is my order?") -> list[ev.Event]:
    contact, conv = f"timers-contact-{i}", f"timers-conv-{i}"
    return [ev.ConversationOpened(id=f"timers-o-{i}", at=at, contact_id=contact, conversation_id=conv, channel=channel, address=f"a{i}"),
            ev.MessageReceived(id=f"timers-m-{i}", at=at, contact_id=contact, conversation_id=conv, channel=channel, address=f"a{i}", text=text)]


async def open_clocks(count: int, probe_after: float = 20.0) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="hub-timers-"))
    (tmp / "hub.toml").write_text(config_with_probe(f"{probe_after:g}s"), encoding="utf-8")
    settings = config.load({"HUB_SECRET_KEY": "x" * 40, "HUB_CONFIG": str(tmp / "hub.toml")})
    sla, ladders = SlaHandler(settings), EscalationHandler(settings)
    rss_before = rss_mb(os.getpid())
    out: dict[str, Any] = {"clocks_opened": count}
    start = ev.utcnow()
    t0 = time.perf_counter()
    for first in range(0, count, 1000):
        batch = [e for i in range(first, min(first + 1000, count)) for e in conversation(i, start)]
        outcome = await sla.handle(batch)
        sla.apply(outcome)
        ladders.apply(await ladders.handle(outcome.events()))  # the complaints' ladders, as the worker feeds them
    out["fill_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sla.tick(ev.utcnow())  # the first tick builds the index from the table
    out["index_build_s"] = time.perf_counter() - t0
    out["open_in_index"] = len(sla.index)
    out["rss_mb_for_clocks"] = rss_mb(os.getpid()) - rss_before

    costs: list[float] = []
    for _ in range(40):  # 10 s of ticks with nothing due
        c0 = time.process_time()
        fired = sla.tick(ev.utcnow()).events() + ladders.tick(ev.utcnow()).events()
        costs.append(time.process_time() - c0)
        assert not fired, fired
        await asyncio.sleep(TICK)
    out["idle_tick_ms_mean"] = 1000 * sum(costs) / len(costs)
    out["idle_tick_ms_max"] = 1000 * max(costs)
    out["idle_cpu_pct"] = 100 * sum(costs) / (len(costs) * TICK)

    probe_at = ev.utcnow()
    sla.apply(await sla.handle(conversation(count, probe_at, channel="telegram", text="hello, is anybody there?")))
    due = probe_at + timedelta(seconds=probe_after)
    deadline = time.monotonic() + probe_after + 10
    out["probe"] = {"fired_s_after_due": None}
    while time.monotonic() < deadline:
        await asyncio.sleep(TICK)
        now = ev.utcnow()
        breached = [e for e in sla.tick(now).events() if isinstance(e, ev.SlaBreached) and e.policy == "probe"]
        if breached:
            out["probe"] = {"fired_s_after_due": (ev.utcnow() - due).total_seconds(), "clock": breached[0].clock}
            break
    return out


def line(o: dict[str, Any]) -> str:
    probe = o.get("probe", {})
    return (f"{o['clocks_opened']} open clocks in process (SLA and escalation handlers, no broker): filled in {o['fill_s']:.1f} s, "
            f"index built in {o['index_build_s']:.2f} s ({o['open_in_index']} entries), {o['rss_mb_for_clocks']:.0f} MB for the clocks; "
            f"a tick with nothing due {o['idle_tick_ms_mean']:.3f} ms (max {o['idle_tick_ms_max']:.3f}), {o['idle_cpu_pct']:.2f} % of a core at 4 ticks/s; "
            f"a breach fired {probe.get('fired_s_after_due')} s after its deadline")


if __name__ == "__main__":
    print(line(asyncio.run(open_clocks(100_000))))


def queue_backlog(count: int) -> dict[str, Any]:
    """`count` conversations queued in one queue with nobody online, through the assignment
    domain in process: the cost per conversation by fifths of the backlog (flat when a change
    shares the waiting list instead of copying it), and one release once an agent is online."""
    from hub.domain import routing

    state, fifths, t0 = routing.QueueState(), [], time.perf_counter()
    last, step = t0, max(1, count // 5)
    for i in range(count):
        state, _ = routing.apply(state, ev.ConversationQueued(id=f"q{i}", contact_id=f"k{i}", conversation_id=f"c{i}", queue="support"))
        if (i + 1) % step == 0:
            now = time.perf_counter()
            fifths.append((now - last) / step * 1000)
            last = now
    state, _ = routing.apply(state, ev.AgentAvailabilityChanged(agent="alice", online=True, capacity=1, queue="support"))
    t = time.perf_counter()
    state, _ = routing.apply(state, ev.ConversationReleased(id="r", contact_id="k0", conversation_id="c0", queue="support"))
    return {"conversations": count, "ms_per_conversation_by_fifth": fifths, "total_s": time.perf_counter() - t0,
            "release_ms": (time.perf_counter() - t) * 1000}


def backlog_line(o: dict[str, Any]) -> str:
    fifths = ", ".join(f"{ms:.3f}" for ms in o["ms_per_conversation_by_fifth"])
    return (f"{o['conversations']} conversations queued with nobody online (assignment domain, in process): ms per conversation "
            f"by fifths {fifths}; {o['total_s']:.1f} s in all; a release then {o['release_ms']:.1f} ms")
