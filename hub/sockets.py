"""The sockets a process holds open: agents' /api/v1/live and customers' chat sockets. A
core piece (hub/core.py), so the web chat channel reaches its customers' sockets without the
web role's module; the worker holds none."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp.web import WebSocketResponse


class Sockets:
    """Who is connected to this process."""

    def __init__(self) -> None:
        self.agents: dict[str, set[WebSocketResponse]] = defaultdict(set)
        self.chats: dict[str, set[WebSocketResponse]] = defaultdict(set)
        # Sockets that receive frames without making their user available (a manager's
        # dashboard must not put her in the routing of her queues).
        self.watchers: set[WebSocketResponse] = set()

    def is_online(self, name: str) -> bool:
        return any(ws not in self.watchers for ws in self.agents.get(name, ()))

    def online_agents(self) -> set[str]:
        return {name for name in list(self.agents) if self.is_online(name)}

    @staticmethod
    async def _send_all(sockets: set[WebSocketResponse], frame: dict[str, Any]) -> int:
        sent = 0
        for ws in list(sockets):
            if ws.closed:
                continue
            try:
                await ws.send_json(frame)
                sent += 1
            except (ConnectionError, RuntimeError):
                pass
        return sent

    async def to_agents(self, frame: dict[str, Any]) -> None:
        for sockets in list(self.agents.values()):
            await self._send_all(sockets, frame)

    async def to_chat(self, session: str, frame: dict[str, Any]) -> int:
        return await self._send_all(self.chats.get(session, set()), frame)
