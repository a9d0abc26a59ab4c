"""Engine, sessions, migrations and portable upserts."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def private_sqlite_file(path: str) -> None:
    """The database file, created (or tightened) to 0600 before SQLite opens it: it holds
    customers' messages, password hashes and sessions, and SQLite gives its -wal, -shm and
    -journal files the database file's mode."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(file, os.O_CREAT | os.O_RDWR, 0o600))  # an empty file is an empty database
    os.chmod(file, 0o600)  # made 0644 by an older version (the umask, not us)
    for extra in ("-wal", "-shm", "-journal"):
        sidecar = file.with_name(file.name + extra)
        if sidecar.exists():
            os.chmod(sidecar, 0o600)


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:" and not path.startswith("file:"):
            private_sqlite_file(path)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def insert_for(session: AsyncSession, table: Any) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def insert_ignore(session: AsyncSession, table: Any, values: dict[str, Any], keys: Sequence[str]) -> bool:
    """Insert unless a row with the same keys exists; True when a row was written."""
    stmt = insert_for(session, table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    result = await session.execute(stmt)
    return bool(result.rowcount)


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def migrate_sync(url: str) -> None:
    from alembic import command

    command.upgrade(_alembic_config(url), "head")


async def migrate(url: str) -> None:
    """Apply pending migrations; safe to call from every command at start."""
    await asyncio.to_thread(migrate_sync, url)


async def advisory_lock(session: AsyncSession, key: int) -> None:
    """PostgreSQL's advisory lock `key`, waited for; held by the session's connection until
    advisory_unlock (or the connection ends)."""
    await session.execute(text(f"SELECT pg_advisory_lock({int(key)})"))


async def advisory_unlock(session: AsyncSession, key: int) -> None:
    await session.execute(text(f"SELECT pg_advisory_unlock({int(key)})"))


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
