"""What several test packages share: a real hub as processes (hub), the test PostgreSQL
database (postgres) and polling (waiting); `from tests.support import Hub, eventually, ...`.

tests.support.browser (Playwright + Debian Chromium) is imported on its own, by the browser
tests only, so that importing tests.support never needs Playwright.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.hub import PRODUCTION_SESSIONS, Hub, configured_hub, conversation_with, project, start_web
from tests.support.postgres import POSTGRES_URL, reset_postgres
from tests.support.waiting import eventually

# The repository's root (this file is tests/support/__init__.py).
ROOT = Path(__file__).resolve().parents[2]

__all__ = ["POSTGRES_URL", "PRODUCTION_SESSIONS", "ROOT", "Hub", "configured_hub", "conversation_with", "eventually", "project", "reset_postgres", "start_web"]
