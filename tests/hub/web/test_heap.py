"""The web role freezes its startup heap last, after the hub's own start (hub/web/heap.py)."""

from __future__ import annotations

import gc

from aiohttp import web

from hub.config import Settings
from hub.web.app import create_app
from hub.web.heap import freeze_startup_heap


def test_the_app_freezes_its_heap_after_starting() -> None:
    app = create_app(Settings())
    hooks = list(app.on_startup)
    assert hooks[-1] is freeze_startup_heap and len(hooks) > 1


async def test_freezing_moves_the_live_objects_out_of_the_collectors_sight() -> None:
    kept = [object() for _ in range(10)]  # noqa: F841 - alive while frozen
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        await freeze_startup_heap(web.Application())
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
