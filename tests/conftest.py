from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from tests.support import Hub


@pytest.fixture(scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    """One real hub on SQLite for a test module."""
    h = Hub(Path(tmp_path_factory.mktemp("hub")))
    try:
        await h.start()
        yield h
    finally:
        h.stop()
