"""The web role's startup objects (modules, routes, settings, the engine: ~100,000+) moved
out of the cyclic collector's sight once the app has started (gc.freeze).

The response-time report makes ~30,000 objects per request with 10,000 conversations; each
time enough of them outlive the young generations, Python runs a full collection, which
walks every object in the process. In the page bench (bench/pages.py) those passes were
about half of the report's server time on SQLite (~195 -> ~120 ms in process with the app
loaded). Frozen objects are still freed by reference counting; only cycles among them,
which the startup does not leave behind, would be kept."""

from __future__ import annotations

import gc
import logging

from aiohttp import web

log = logging.getLogger(__name__)


async def freeze_startup_heap(app: web.Application) -> None:
    """Last on_startup hook: everything made so far lives as long as the process."""
    gc.collect()  # what startup left as garbage goes now, not into the frozen generation
    gc.freeze()
    log.info("startup heap frozen", extra={"frozen_objects": gc.get_freeze_count()})
