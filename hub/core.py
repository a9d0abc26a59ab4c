"""What both roles build: the settings, the database, the bus and the counters. The web role
adds its feeds, presence and login limits on top (hub/web/context.py `Hub`, a Core); the
worker builds a Core for the channels it sends through. A channel is given a Core, never
the web role's object, so no module under channels/ needs hub.web."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.auth import ApiKeyCache
from hub.bus import Bus
from hub.config import Settings
from hub.sockets import Sockets


@dataclass
class Core:
    settings: Settings
    engine: AsyncEngine
    db: async_sessionmaker[AsyncSession]
    bus: Bus
    counters: dict[str, int] = field(default_factory=dict)
    sockets: Sockets = field(default_factory=Sockets)  # the sockets this process holds (none in the worker)
    api_keys: ApiKeyCache = field(default_factory=ApiKeyCache)
    stopping: bool = False  # set once the process stops: nothing new is published from here on

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n
