"""Live sockets: agents' /api/v1/live and customers' chat sockets, fed from `live` and
`outbound.web` by a consumer that every web process runs (no group: each sees everything)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Awaitable, Callable

from aiokafka import AIOKafkaConsumer

from channels.webchat.channel import outbound_frame
from hub import events as ev
from hub import topics
from hub.auth import ApiKeyCache
from hub.bus import assign_all
from hub.config import Settings
from hub.sockets import Sockets
from hub.web import typing as typing_signals

if TYPE_CHECKING:
    from hub.web.sessions import Sessions

log = logging.getLogger("hub.live")


class LiveFeed:
    def __init__(self, settings: Settings, sockets: Sockets, on_chat_delivered: Callable[[ev.WebChatMessageSent], Awaitable[None]],
                 sessions: Sessions | None = None, api_keys: ApiKeyCache | None = None) -> None:
        self.settings = settings
        self.sockets = sockets
        self.on_chat_delivered = on_chat_delivered
        self.sessions = sessions
        self.api_keys = api_keys
        self.consumer: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=self.settings.fetch_max_wait_ms,
        )
        await self.consumer.start()
        # Positions are fixed when this returns, so nothing published after start() is missed.
        await assign_all(self.consumer, (topics.LIVE.name, topics.OUTBOUND_WEB.name), from_end=True)
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.consumer:
            await self.consumer.stop()

    async def _run(self) -> None:
        assert self.consumer is not None
        async for record in self.consumer:
            try:
                event = ev.from_json(record.value)
                if isinstance(event, ev.ReadModelUpdated):
                    await self.sockets.to_agents(event.frame)
                elif isinstance(event, ev.WebChatMessageSent):
                    if await self.sockets.to_chat(event.session, outbound_frame(event)):
                        await self.on_chat_delivered(event)
                elif isinstance(event, ev.CustomerTyped) and not typing_signals.is_stale(event):
                    await self.sockets.to_agents(typing_signals.agents_frame(event))
                elif isinstance(event, ev.AgentTyped) and not typing_signals.is_stale(event):
                    for session in event.sessions:
                        await self.sockets.to_chat(session, typing_signals.chat_frame(event))
                elif isinstance(event, ev.UserSessionsEnded) and self.sessions is not None:
                    await self.sessions.on_sessions_ended(event)
                elif isinstance(event, ev.SessionSignedOut) and self.sessions is not None:
                    await self.sessions.on_signed_out(event)
                elif isinstance(event, ev.ApiKeyRevoked) and self.api_keys is not None:
                    self.api_keys.forget(event.name)
            except Exception:  # noqa: BLE001 - one bad record must not stop live pushes
                log.exception("live record skipped", extra={"topic": record.topic, "offset": record.offset})
