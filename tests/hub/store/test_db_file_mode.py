"""The SQLite files (the database, its -wal and -shm, the written-ahead file) hold customers'
messages, password hashes and sessions: readable by the hub's user only (0600), whatever
the umask, and tightened when an older version left them 0644."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from hub.store.db import make_engine


def modes(directory: Path) -> dict[str, int]:
    return {f.name: stat.S_IMODE(f.stat().st_mode) for f in sorted(directory.iterdir())}


async def test_sqlite_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        (tmp_path / "var").mkdir()
        (tmp_path / "var" / "old.db").write_bytes(b"")  # left 0644 by an older version
        for name in ("hub.db", "old.db"):
            engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/var/{name}")
            try:
                async with engine.begin() as conn:
                    await conn.execute(text("CREATE TABLE t (x INTEGER)"))
                    await conn.execute(text("INSERT INTO t VALUES (1)"))
                found = modes(tmp_path / "var")
            finally:
                await engine.dispose()
            assert {n for n in found if n.startswith(name)} >= {name, f"{name}-wal"}
            assert {n: m for n, m in found.items() if n.startswith(name)} == {n: 0o600 for n in found if n.startswith(name)}
    finally:
        os.umask(old)
