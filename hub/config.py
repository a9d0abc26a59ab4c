"""Typed settings: environment variables, plus an optional TOML file named by HUB_CONFIG."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

#: The queue a hub has when its TOML file names none; with queues, the first one is the default.
DEFAULT_QUEUE = "support"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(ValueError):
    """A setting is present but wrong; the message names it."""


def parse_duration(text: str | int | float) -> float:
    """'90s', '15m', '4h', '2d' -> seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    if not isinstance(text, str):
        raise ConfigError(f"not a duration: {text!r} (use e.g. '90s', '15m', '4h', '2d')")
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"not a duration: {text!r} (use e.g. '90s', '15m', '4h', '2d')")
    return float(match.group(1)) * _UNIT[match.group(2)]


@dataclass(frozen=True)
class QueueConfig:
    name: str
    channels: tuple[str, ...] = ()  # none named: every channel (channels/registry.py checks the names)
    languages: tuple[str, ...] = ()

    def takes(self, channel: str) -> bool:
        return not self.channels or channel in self.channels


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str | None = None
    database_url: str = "sqlite+aiosqlite:///var/hub.db"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    public_url: str = ""
    secret_key: str = ""
    var_dir: Path = Path("var")
    partitions: int = 4
    replication_factor: int = 1
    app_id: str = "contacthub"
    archive: bool = True  # keep the log in the database and refill an empty one (docs/design.md)
    fetch_max_wait_ms: int = 10
    # A consumer group's session: a member silent this long is replaced. The embedded
    # broker also waits half of it for more members before it assigns a new group.
    group_session_seconds: float = 6.0
    # Proxies whose X-Forwarded-For is believed for a client's address (the login limiter's)
    trusted_proxies: tuple[Any, ...] = ()
    stall_seconds: float = 30.0  # records waiting on a partition nothing reads: the worker acts (processors/stall.py); 0 = off
    projector_process: bool = False  # the projector (and archiver) in a process of their own (`contacthub projector`), not a worker thread
    max_chat_text: int = 4096
    max_body_bytes: int = 1024 * 1024
    queues: tuple[QueueConfig, ...] = (QueueConfig(DEFAULT_QUEUE),)
    phone_region: str = "IR"
    media_max_bytes: int = 5 * 1024 * 1024
    # Each channel's own settings by channel name, declared, read and checked by the
    # channel (channels.base.ChannelSettings; `SmsSettings.of(settings)` reads one).
    channel_settings: Mapping[str, Any] = field(default_factory=dict)
    # Business calendars by name (the built-in "24x7" and "tehran" among them), SLA policies
    # in order, complaint terms: parsed from HUB_CONFIG at load, so a mistake stops the start.
    calendars: Mapping[str, Any] = field(default_factory=dict)
    sla_policies: tuple[Any, ...] = ()
    complaint_terms: tuple[str, ...] = ()
    ladders: tuple[Any, ...] = ()
    # `[surveys]` (hub.domain.surveys.SurveySettings); None: read nothing, surveys are off
    surveys: Any = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def default_queue(self) -> str:
        """Where a conversation goes that no queue's rule takes, and an agent with no queues
        of her own works: the first configured queue (`support` when none is)."""
        return self.queues[0].name if self.queues else DEFAULT_QUEUE

    def agent_queues(self, queues: Any) -> list[str]:
        """An agent's queues as stored, or the default queue when she has none."""
        return list(queues or []) or [self.default_queue]

    def group_timing_ms(self) -> dict[str, int]:
        """aiokafka's session, rebalance and heartbeat for every consumer group of the hub."""
        session = int(self.group_session_seconds * 1000)
        return {"session_timeout_ms": session, "rebalance_timeout_ms": session, "heartbeat_interval_ms": max(100, session // 6)}

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.http_host}:{self.http_port}"


def _secret(var_dir: Path) -> str:
    path = var_dir / "secret-key"
    if path.exists():
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
        # empty or truncated (a crash while writing it): never sign with a guessable key
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return key


def _queues(raw: Mapping[str, Any]) -> tuple[QueueConfig, ...]:
    items = raw.get("queues") or []
    if not isinstance(items, list):
        raise ConfigError("queues must be a list of tables: [[queues]]")
    if not items:
        return (QueueConfig(DEFAULT_QUEUE),)
    out = []
    for i, q in enumerate(items):
        if not isinstance(q, dict) or not q.get("name"):
            raise ConfigError(f"queues[{i}] needs a name")
        for key in ("channels", "languages"):
            if key in q and not (isinstance(q[key], list) and all(isinstance(x, str) for x in q[key])):
                raise ConfigError(f"queues[{i}].{key} must be a list of strings, like [\"sms\", \"web\"]")
        out.append(
            QueueConfig(
                name=str(q["name"]),
                channels=tuple(q.get("channels") or ()),
                languages=tuple(q.get("languages") or ()),
            )
        )
    return tuple(out)


def _switch(name: str, value: str) -> bool:
    word = value.strip().lower()
    if word in ("1", "on", "true", "yes"):
        return True
    if word in ("0", "off", "false", "no"):
        return False
    raise ConfigError(f"{name} must be on or off, not {value!r}")


def _networks(name: str, value: str) -> tuple[Any, ...]:
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must list addresses or networks, like 10.0.0.0/8,127.0.0.1: {exc}") from exc


def _group_session(seconds: float) -> float:
    if not 1.0 <= seconds <= 300.0:
        raise ConfigError(f"HUB_GROUP_SESSION_SECONDS must be between 1 and 300, not {seconds:g}")
    return seconds


#: what `contacthub run` sets unless the environment does (its roles share one machine's cores)
RUN_DEFAULTS: dict[str, str] = {"HUB_PROJECTOR": "process"}


def _projector_process(where: str) -> bool:
    if where not in ("thread", "process"):
        raise ConfigError(f"HUB_PROJECTOR must be thread or process, not {where!r}")
    return where == "process"


def load(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    var_dir = Path(env.get("HUB_VAR_DIR", "var"))
    raw: dict[str, Any] = {}
    if env.get("HUB_CONFIG"):
        path = Path(env["HUB_CONFIG"])
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"HUB_CONFIG {path}: {exc}") from exc
    try:
        port = int(env.get("HUB_HTTP_PORT", "8080"))
        partitions = int(env.get("HUB_PARTITIONS", "4"))
        replication = int(env.get("HUB_REPLICATION_FACTOR", "1"))
        fetch_wait = int(env.get("HUB_FETCH_MAX_WAIT_MS", "10"))
        media_max = int(env.get("HUB_MEDIA_MAX_BYTES", str(5 * 1024 * 1024)))
        stall_seconds = float(env.get("HUB_STALL_SECONDS", "30"))
        group_session = float(env.get("HUB_GROUP_SESSION_SECONDS", "6"))
    except ValueError as exc:
        raise ConfigError(f"a numeric setting is not a number: {exc}") from exc
    # imported here: these modules use ConfigError and parse_duration from this one
    from channels.registry import read_settings
    from hub.domain.calendar import parse_calendars
    from hub.domain.complaints import parse_terms
    from hub.domain.escalation import parse_ladders
    from hub.domain.sla import parse_policies
    from hub.domain.surveys import parse_settings as parse_surveys

    calendars = parse_calendars(raw)
    return Settings(
        kafka_bootstrap=env.get("HUB_KAFKA_BOOTSTRAP") or None,
        database_url=env.get("HUB_DATABASE_URL", f"sqlite+aiosqlite:///{var_dir}/hub.db"),
        http_host=env.get("HUB_HTTP_HOST", "127.0.0.1"),
        http_port=port,
        public_url=env.get("HUB_PUBLIC_URL", "").rstrip("/"),
        secret_key=env.get("HUB_SECRET_KEY") or _secret(var_dir),
        var_dir=var_dir,
        partitions=partitions,
        replication_factor=replication,
        app_id=env.get("HUB_APP_ID", "contacthub"),
        archive=_switch("HUB_ARCHIVE", env.get("HUB_ARCHIVE", "on")),
        fetch_max_wait_ms=fetch_wait,
        stall_seconds=stall_seconds,
        group_session_seconds=_group_session(group_session),
        trusted_proxies=_networks("HUB_TRUSTED_PROXIES", env.get("HUB_TRUSTED_PROXIES", "")),
        projector_process=_projector_process(env.get("HUB_PROJECTOR", "thread")),
        queues=_queues(raw),
        phone_region=env.get("HUB_PHONE_REGION", "IR"),
        media_max_bytes=media_max,
        channel_settings=read_settings(env, raw),
        calendars=calendars,
        sla_policies=parse_policies(raw, calendars),
        complaint_terms=parse_terms(raw),
        ladders=parse_ladders(raw),
        surveys=parse_surveys(raw),
        raw=raw,
    )


def env_vars() -> tuple[str, ...]:
    """Every environment variable the hub reads (its own and each channel's); deploy files
    are checked against it."""
    from channels.registry import settings_env

    return (*ENV_VARS, *(name for name in settings_env() if name not in ENV_VARS))


#: The environment variables of the hub itself; each channel declares its own.
ENV_VARS: tuple[str, ...] = (
    "HUB_KAFKA_BOOTSTRAP",
    "HUB_DATABASE_URL",
    "HUB_HTTP_HOST",
    "HUB_HTTP_PORT",
    "HUB_PUBLIC_URL",
    "HUB_SECRET_KEY",
    "HUB_CONFIG",
    "HUB_VAR_DIR",
    "HUB_PARTITIONS",
    "HUB_APP_ID",
    "HUB_ARCHIVE",
    "HUB_FETCH_MAX_WAIT_MS",
    "HUB_PROJECTOR",
    "HUB_LOG_LEVEL",
    "HUB_FAUST_LOG_LEVEL",
    "HUB_REPLICATION_FACTOR",
    "HUB_PHONE_REGION",
    "HUB_MEDIA_MAX_BYTES",
    "HUB_STALL_SECONDS",
    "HUB_GROUP_SESSION_SECONDS",
    "HUB_TRUSTED_PROXIES",
)
