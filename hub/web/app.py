"""The aiohttp application: routes, middlewares, start-up and shutdown."""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from channels import registry
from channels.webchat.socket import on_chat_delivered
from hub import topics
from hub.archive.writeahead import DatabaseWriteAhead
from hub.bus import Bus
from hub.config import Settings
from hub.events import utcnow
from hub.store import workers
from hub.store.db import as_utc, make_engine, ping, sessionmaker
from hub.web.admin import routes as admin_routes
from hub.web.api import routes as api_routes
from hub.web.attachments import routes as attachment_routes
from hub.web.canned import routes as canned_routes
from hub.web.contacts import routes as contact_routes
from hub.web.context import HUB_KEY, Hub, hub_of, require, token_of
from hub.web.dashboard import routes as dashboard_routes
from hub.web.errors import errors_middleware, security_headers
from hub.web.escalations import routes as escalation_routes
from hub.web.heap import freeze_startup_heap
from hub.web.live import LiveFeed
from hub.web.presence import PresenceBeat
from hub.web.reports import routes as report_routes
from hub.web.satisfaction import routes as satisfaction_routes
from hub.web.sessions import authenticated
from hub.web.survey_page import routes as survey_page_routes
from hub.web.timeseries import routes as timeseries_routes
from hub.web.timing import server_timing
from hub.web.typing_api import routes as typing_routes
from hub.web.workspace import routes as workspace_routes

log = logging.getLogger("hub.web")
STATIC = Path(__file__).parent / "static"
HEARTBEAT_FRESH = timedelta(seconds=10)
routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readiness(hub: Hub) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(hub.bus._producer.partitions_for(topics.INBOUND.name), 3)  # type: ignore[union-attr]  # noqa: SLF001
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"unreachable: {type(exc).__name__}"
    try:
        await asyncio.wait_for(ping(hub.engine), 3)
        async with hub.db() as s:
            rows = await workers.ready(s)
            current = await workers.current_log(s)
        # a worker of an earlier run (its heartbeat still fresh after a restart) reads another log
        fresh = [r for r in rows if as_utc(r.heartbeat_at) > utcnow() - HEARTBEAT_FRESH and r.log_id == current]
        checks["database"] = "ok"
        if not fresh:
            checks["worker"] = "no worker of this run holds its partitions yet"
        elif not any(r.caught_up for r in fresh):
            checks["worker"] = "the worker is reading the refilled log"
        else:
            checks["worker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["worker"] = "unknown"
    return checks


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    checks = await readiness(hub_of(request))
    ready = all(v == "ok" for v in checks.values())
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    hub = hub_of(request)
    async with hub.db() as s:
        dead = await workers.dead_letters(s)
    lines = [
        "# TYPE hub_deadletters_total counter",
        f"hub_deadletters_total {dead or 0}",
        "# TYPE hub_agent_sockets gauge",
        f"hub_agent_sockets {sum(len(v) for v in hub.sockets.agents.values())}",
        "# TYPE hub_chat_sockets gauge",
        f"hub_chat_sockets {sum(len(v) for v in hub.sockets.chats.values())}",
    ]
    for name, value in sorted(hub.counters.items()):
        lines += [f"# TYPE {name} counter", f"{name} {value}"]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


@routes.get("/api/v1/channels")
async def channels_list(request: web.Request) -> web.Response:
    """Every channel the hub has (channels/registry.py): name, labels (en, fa), whether its
    address is a phone number, the delivery states it reports, its longest reply, its reply
    window and the templates an agent may send on it."""
    require(request)
    return web.json_response({"channels": registry.facts(hub_of(request).settings)})


@routes.get("/")
async def agent_page(_: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


@routes.get("/manager")
async def manager_page(_: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "manager.html")


async def _start(settings: Settings, app: web.Application) -> None:
    engine = make_engine(settings.database_url)
    db = sessionmaker(engine)
    # with the archive on, an input is in the database before the edge answers 2xx
    bus = Bus(settings.kafka_bootstrap or "", write_ahead=DatabaseWriteAhead.beside(settings.database_url, db) if settings.archive else None)
    await bus.start()
    hub = Hub(settings=settings, engine=engine, db=db, bus=bus)
    hub.feed = LiveFeed(settings, hub.sockets, functools.partial(on_chat_delivered, bus), hub.sessions, hub.api_keys)
    await hub.feed.start()
    hub.presence = PresenceBeat(hub.db, hub.sockets.online_agents)
    await hub.presence.start()
    app[HUB_KEY] = hub
    hub.listeners = await registry.start_listeners(hub)
    log.info("web ready", extra={"url": settings.base_url})


async def _stop(app: web.Application) -> None:
    hub = app.get(HUB_KEY)
    if hub is None:
        return
    hub.stopping = True  # closing sockets below must not publish through a stopping producer
    await registry.stop_listeners(hub.listeners)  # nothing new is accepted from here on
    for sockets in [*hub.sockets.agents.values(), *hub.sockets.chats.values()]:
        for ws in list(sockets):
            await ws.close()
    if hub.feed:
        await hub.feed.stop()
    if hub.presence:
        await hub.presence.stop()
    await hub.bus.stop()
    if hub.bus.write_ahead is not None:
        await hub.bus.write_ahead.close()
    await hub.engine.dispose()


def create_app(settings: Settings) -> web.Application:
    signed_in = authenticated(lambda request: (hub_of(request).sessions, hub_of(request).settings.secret_key), token_of)
    app = web.Application(middlewares=[server_timing, errors_middleware, security_headers, signed_in], client_max_size=settings.max_body_bytes)
    app.add_routes(routes)
    app.add_routes(api_routes)
    app.add_routes(escalation_routes)
    app.add_routes(report_routes)
    app.add_routes(satisfaction_routes)
    app.add_routes(timeseries_routes)
    app.add_routes(dashboard_routes)
    app.add_routes(canned_routes)
    app.add_routes(workspace_routes)
    app.add_routes(contact_routes)
    app.add_routes(typing_routes)
    app.add_routes(attachment_routes)
    app.add_routes(admin_routes)
    app.add_routes(survey_page_routes)
    for channel_routes in registry.web_routes():
        app.add_routes(channel_routes)
    app.router.add_static("/static/", STATIC)
    app.on_startup.append(functools.partial(_start, settings))
    app.on_startup.append(freeze_startup_heap)  # after _start: hub/web/heap.py
    app.on_shutdown.append(_stop)
    return app
