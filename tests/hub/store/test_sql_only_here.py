"""SQL only in hub/store (issue 16): every other module of the hub, its channels and its
processors reaches the database through hub/store's functions; what it may take from
SQLAlchemy is a session or engine type to pass along and the errors to catch."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
ALLOWED = {"sqlalchemy.ext.asyncio": {"AsyncSession", "async_sessionmaker", "AsyncEngine"}, "sqlalchemy.exc": {"IntegrityError", "OperationalError", "DBAPIError"}}
# an ORM session's own statements: s.get(Model, key), s.execute(...), s.scalars(...), s.add(row)
SESSION_CALL = re.compile(r"\b(?:s|session|db_session)\.(?:get|execute|scalars?|add|delete|merge|stream)\(")


def sql_outside_the_store(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    found = [f"line {n}: {line.strip()}" for n, line in enumerate(source.splitlines(), 1) if SESSION_CALL.search(line)]
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] == "sqlalchemy"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
            found += [f"from {node.module} import {a.name}" for a in node.names if a.name not in ALLOWED.get(node.module, set())]
    return found


def test_no_module_outside_hub_store_writes_sql() -> None:
    files = [f for top in ("hub", "channels", "processors") for f in sorted((ROOT / top).rglob("*.py"))
             if not f.is_relative_to(ROOT / "hub" / "store")]
    assert len(files) > 100  # the whole tree was read
    offending = {str(f.relative_to(ROOT)): found for f in files if (found := sql_outside_the_store(f))}
    assert offending == {}


def test_the_check_sees_sql(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy as sa\nfrom sqlalchemy import select\nfrom sqlalchemy.ext.asyncio import AsyncSession\n"
                   "async def f(s: AsyncSession):\n    return await s.get(User, 'x')\n", encoding="utf-8")
    assert sql_outside_the_store(bad) == ["line 5: return await s.get(User, 'x')", "import sqlalchemy", "from sqlalchemy import select"]
