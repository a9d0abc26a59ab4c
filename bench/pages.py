"""Page timings with many conversations in the database (issue 7: each page under 300 ms of
server time with 10,000 conversations).

    python -m bench.pages [--conversations 10000] [--repeat 20] [--postgres URL] [--no-sqlite]

Seeds a read model (bench/seed.py), starts the broker, the worker and the web role on it,
signs in as the seeded lead, and requests every page, its assets and every GET route under
/api/v1 (found in the app's router, so routes added later are timed too) `--repeat` times,
round-robin. Per route: the client's wall time on loopback and the server's own figure from
the `Server-Timing: app;dur=` header (hub/web/timing.py), p50/p90/max. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.seed import Seeded, seed
from bench.stats import pct
from hub.events import utcnow
from tests.support import Hub

PAGES = ("/", "/manager", "/chat")
PASSWORD = "pagebench-pw"
USER = "lead01"  # seeded (bench/seed.py), a lead who also holds conversations
SLOW_MS = 300.0
RESULTS = Path(__file__).parent / "results"
# GET routes not loaded with a page: sockets, media fetched from a provider on a click, and
# the admin API (no page loads it; the bench signs in as a lead).
NOT_TIMED = {
    "/api/v1/live": "WebSocket",
    "/api/v1/messages/{message_id}/attachments/{index}": "fetches from the channel's provider when an agent opens an item",
    "/api/v1/admin/users": "admin only, on no page",
    "/api/v1/admin/api-keys": "admin only, on no page",
}
# Query strings the pages send (agent.js filters, manager.js report groupings); other routes once bare.
VARIANTS: dict[str, tuple[str, ...]] = {
    "/api/v1/conversations": ("", "status=open", "status=pending", "status=resolved", "assignee=me", "unassigned=1",
                              "queue=support", "channel=sms", "channel=email", "cursor"),
    # and in business time: calendar=tehran walks opening hours for every timing
    "/api/v1/reports/response-times": ("by=channel", "by=queue", "by=agent", "by=day", "by=channel&calendar=tehran",
                                       "by=queue&calendar=tehran", "by=agent&calendar=tehran", "by=day&calendar=tehran"),
}
ASSET = re.compile(r"""(?:src|href)="(/(?:static|chat)/[^"]+)\"""")


@dataclass
class Row:
    """One route's figures over the repeats, in ms."""

    label: str
    path: str
    statuses: list[int] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    bytes: int = 0

    def figures(self) -> dict[str, Any]:
        c, s = self.client_ms, self.server_ms
        return {"label": self.label, "path": self.path, "n": len(c), "statuses": sorted(set(self.statuses)), "bytes": self.bytes,
                "client_p50": pct(c, 50), "client_p90": pct(c, 90), "client_max": max(c, default=float("nan")),
                "server_p50": pct(s, 50), "server_p90": pct(s, 90), "server_max": max(s, default=float("nan"))}


def server_ms(header: str | None) -> float | None:
    """The `app` entry's duration of a Server-Timing header, or None."""
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() != "app":
            continue
        for p in params.split(";"):
            key, _, value = p.strip().partition("=")
            if key == "dur":
                try:
                    return float(value)
                except ValueError:
                    return None
    return None


def api_get_routes() -> list[str]:
    """Every GET route under /api/v1 the web role registers (its own router, built here
    without starting it), as aiohttp writes them: `/api/v1/conversations/{id}`."""
    from hub.config import Settings
    from hub.web.app import create_app

    app = create_app(Settings())
    found = {r.resource.canonical for r in app.router.routes() if r.method == "GET" and r.resource is not None}
    return sorted(p for p in found if p.startswith("/api/v1/"))


def fill(route: str, data: Seeded) -> str | None:
    """A route's path parameters from the seeded data, by the collection they follow."""
    samples = {"conversations": data.busy_conversation, "contacts": data.busy_contact, "escalations": data.escalation_id,
               "agents": USER, "users": USER}
    parts = route.split("/")
    for i, part in enumerate(parts):
        if part.startswith("{"):
            value = samples.get(parts[i - 1]) if i else None
            if not value:
                return None
            parts[i] = value
    return "/".join(parts)


@dataclass
class Targets:
    routes: list[tuple[str, str]] = field(default_factory=list)  # (label, path with query)
    skipped: dict[str, str] = field(default_factory=dict)  # route -> why it is not timed
    assets: dict[str, list[str]] = field(default_factory=dict)  # page -> the scripts and styles it loads


async def targets(http: aiohttp.ClientSession, url: str, auth: dict[str, str], data: Seeded) -> Targets:
    """Every page, its assets and every API read, with their paths filled from the seeded data."""
    t = Targets()
    out, skipped = t.routes, t.skipped
    for page in PAGES:
        out.append((f"page {page}", page))
        async with http.get(url + page) as r:
            html = await r.text()
        t.assets[page] = list(dict.fromkeys(ASSET.findall(html)))
        out += [(f"  asset {a}", a) for a in t.assets[page] if (f"  asset {a}", a) not in out]
    for route in api_get_routes():
        if route in NOT_TIMED:
            skipped[route] = NOT_TIMED[route]
            continue
        path = fill(route, data)
        if path is None:
            skipped[route] = "no sample value for its path parameter"
            continue
        for query in VARIANTS.get(route, ("",)):
            if query == "cursor":  # the second page of the unfiltered queue
                async with http.get(url + path, headers=auth) as r:
                    nxt = (await r.json()).get("next")
                if not nxt:
                    skipped[f"{route}?cursor"] = "the first page was the only one"
                    continue
                out.append((f"{route}?cursor=(page 2)", f"{path}?cursor={nxt}"))
                continue
            label = route + (f"?{query}" if query else "") + (" (200 messages)" if route.endswith("/conversations/{id}") else "")
            out.append((label, path + (f"?{query}" if query else "")))
    return t


async def time_routes(url: str, auth: dict[str, str], routes: list[tuple[str, str]], repeat: int) -> list[Row]:
    """Each route once to warm up, then `repeat` rounds over all of them (round-robin, so a
    burst of background work spreads over every route instead of landing on one)."""
    rows = [Row(label, path) for label, path in routes]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        for round_ in range(repeat + 1):
            for row in rows:
                headers = auth if row.path.startswith("/api/") else {}
                t0 = time.perf_counter()
                async with http.get(url + row.path, headers=headers) as r:
                    body = await r.read()
                    elapsed = (time.perf_counter() - t0) * 1000
                    server = server_ms(r.headers.get("Server-Timing"))
                if round_ == 0:
                    continue
                row.statuses.append(r.status)
                row.client_ms.append(elapsed)
                if server is not None:
                    row.server_ms.append(server)
                row.bytes = len(body)
    return rows


def table(rows: list[Row]) -> str:
    head = f"{'route':<58} {'status':>6} {'KiB':>6} | {'server p50':>10} {'p90':>7} {'max':>7} | {'client p50':>10} {'p90':>7} {'max':>7} |"
    lines = [head, "-" * len(head)]
    for row in rows:
        f = row.figures()
        mark = f" SLOW (server p90 > {SLOW_MS:.0f} ms)" if f["server_p90"] > SLOW_MS else (
            f" slow on the client (p90 > {SLOW_MS:.0f} ms)" if f["client_p90"] > SLOW_MS else "")
        if any(code >= 400 for code in f["statuses"]):
            mark += " ERROR (see web.log)"
        status = ",".join(str(s) for s in f["statuses"])
        lines.append(f"{row.label[:58]:<58} {status:>6} {row.bytes / 1024:>6.1f} | {f['server_p50']:>10.1f} {f['server_p90']:>7.1f} {f['server_max']:>7.1f} | "
                     f"{f['client_p50']:>10.1f} {f['client_p90']:>7.1f} {f['client_max']:>7.1f} |{mark}")
    return "\n".join(lines)


def page_loads(rows: list[Row], assets: dict[str, list[str]]) -> list[str]:
    """What each app page asks for on load, added up (the browser overlaps some of it, so
    this is the sequential worst case)."""
    by_label = {r.label: r.figures() for r in rows}

    def total(labels: list[str]) -> tuple[float, float]:
        found = [by_label[x] for x in labels if x in by_label]
        return sum(f["server_p50"] for f in found), sum(f["server_p90"] for f in found)

    # what the pages' scripts fetch when they open (those not in this build are skipped)
    agent = ["page /", *(f"  asset {a}" for a in assets.get("/", [])), "/api/v1/me", "/api/v1/conversations/counts", "/api/v1/conversations",
             "/api/v1/conversations/{id} (200 messages)", "/api/v1/contacts/{id}", "/api/v1/canned", "/api/v1/agents", "/api/v1/queues",
             "/api/v1/me/availability"]
    manager = ["page /manager", *(f"  asset {a}" for a in assets.get("/manager", [])), "/api/v1/me", "/api/v1/dashboard", "/api/v1/escalations",
               "/api/v1/reports/response-times?by=channel", "/api/v1/reports/timeseries", "/api/v1/reports/satisfaction"]
    out = []
    for name, labels in (("agent page /", agent), ("manager page /manager", manager)):
        p50, p90 = total(labels)
        out.append(f"{name}: its {len([x for x in labels if x in by_label])} requests' server time added up: p50 {p50:.0f} ms, p90 {p90:.0f} ms")
    return out


async def prepare_postgres(url: str) -> str | None:
    """Creates the URL's database when it is missing, then empties its public schema (the
    bench owns that database). None when ready, else why not."""
    import asyncpg

    from tests.support import reset_postgres

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        try:
            await (await asyncpg.connect(dsn, timeout=5)).close()
        except asyncpg.InvalidCatalogNameError:
            base, _, name = dsn.rpartition("/")
            admin = await asyncpg.connect(f"{base}/postgres", timeout=5)
            try:
                await admin.execute(f'CREATE DATABASE "{name.split("?")[0]}"')
            finally:
                await admin.close()
        await reset_postgres(url)
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def run(database: str, conversations: int, repeat: int, postgres_url: str | None = None) -> dict[str, Any]:
    """One database: seed, start the hub on it, time, stop. Returns the figures."""
    tmp = Path(tempfile.mkdtemp(prefix=f"hub-pages-{database}-"))
    hub = Hub(tmp, "sqlite")
    if database == "postgres":
        assert postgres_url
        hub.db_url = hub.env["HUB_DATABASE_URL"] = postgres_url
    result: dict[str, Any] = {"database": database, "conversations": conversations, "repeat": repeat, "temp_dir": str(tmp)}
    try:
        hub.broker.start()
        await hub.broker.wait_ready()
        t = time.perf_counter()
        data = await seed(hub.db_url, conversations, password=PASSWORD)
        result["seed_seconds"] = round(time.perf_counter() - t, 1)
        # not asdict(): it rebuilds a Counter from (key, value) pairs, counting the pairs
        result["seeded"] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in vars(data).items()}
        print(f"[{database}] seeded in {result['seed_seconds']} s: {data.summary()}", flush=True)
        hub.spawn("worker")
        hub.spawn("web")
        await hub.wait_ready()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            auth = await hub.login(http, USER, PASSWORD)
            found = await targets(http, hub.url, auth, data)
        print(f"[{database}] timing {len(found.routes)} requests x {repeat}", flush=True)
        load_before = os.getloadavg()
        rows = await time_routes(hub.url, auth, found.routes, repeat)
        # The machine's load says how far the figures are from a quiet machine's.
        result["load_average"] = {"before": load_before, "after": os.getloadavg()}
        result["rows"] = [r.figures() for r in rows]
        result["not_timed"] = skipped = found.skipped
        print(f"\n[{database}] {conversations:,} conversations; {repeat} requests per route after one warm-up; ms; "
              f"server = Server-Timing app;dur, client = wall time on loopback; {os.cpu_count()} CPUs, "
              f"load average {load_before[0]:.1f} before, {result['load_average']['after'][0]:.1f} after")
        print(table(rows))
        for line in page_loads(rows, found.assets):
            print(line)
        for route, why in skipped.items():
            print(f"not timed: {route} ({why})")
        slow = [r.label for r in rows if r.figures()["server_p90"] > SLOW_MS]
        print(f"routes over {SLOW_MS:.0f} ms server p90: {', '.join(slow) if slow else 'none'}", flush=True)
        result["slow"] = slow
    finally:
        hub.stop()
    return result


async def run_all(conversations: int, repeat: int, *, sqlite: bool = True, postgres_url: str | None = None,
                  write_json: bool = True) -> int:
    results: list[dict[str, Any]] = []
    failed = False
    plan = (["sqlite"] if sqlite else []) + (["postgres"] if postgres_url else [])
    for database in plan:
        if database == "postgres":
            why = await prepare_postgres(postgres_url or "")
            if why:
                print(f"[postgres] MISSING: {postgres_url} not usable ({why}); page timings on PostgreSQL skipped", flush=True)
                results.append({"database": "postgres", "missing": why})
                continue
        try:
            results.append(await run(database, conversations, repeat, postgres_url))
        except Exception as exc:  # noqa: BLE001 - the other database still runs; the failure is reported
            failed = True
            print(f"[{database}] page timing failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            results.append({"database": database, "error": f"{type(exc).__name__}: {exc}"})
    if write_json:
        RESULTS.mkdir(exist_ok=True)
        out = {"at": utcnow().isoformat(), "cpus": os.cpu_count(), "slow_ms": SLOW_MS, "runs": results}
        (RESULTS / "pages.json").write_text(json.dumps(out, indent=1, default=str).replace("NaN", "null"))
    return 1 if failed else 0


def add_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    parser.add_argument(f"--{prefix}conversations", type=int, default=10_000, help="conversations to seed (default 10000)")
    parser.add_argument(f"--{prefix}repeat", type=int, default=20, help="timed requests per route (default 20)")
    parser.add_argument(f"--{prefix}postgres", metavar="URL", default=os.environ.get("BENCH_PAGES_POSTGRES_URL") or None,
                        help="also time on this PostgreSQL database (created if missing; its public schema is dropped and rebuilt); "
                             "default $BENCH_PAGES_POSTGRES_URL")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--no-sqlite", dest="sqlite", action="store_false", help="PostgreSQL only")
    parser.add_argument("--no-json", dest="json", action="store_false", help="do not write bench/results/pages.json")
    a = parser.parse_args()
    sys.exit(asyncio.run(run_all(a.conversations, a.repeat, sqlite=a.sqlite, postgres_url=a.postgres, write_json=a.json)))
