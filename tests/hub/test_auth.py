from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hub import auth
from hub.store.db import make_engine, migrate, sessionmaker


async def test_users_tokens_admin_and_api_keys(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/a.db"
    await migrate(url)
    engine = make_engine(url)
    db = sessionmaker(engine)
    try:
        async with db() as s, s.begin():
            user = await auth.add_user(s, "sara", "lead", "pw-1")
            with pytest.raises(auth.AuthError):
                await auth.add_user(s, "sara", "agent", "x")
            with pytest.raises(auth.AuthError):
                await auth.add_user(s, "bob", "boss", "x")
        async with db() as s:
            assert (await auth.authenticate(s, "sara", "pw-1")).role == "lead"
            assert await auth.authenticate(s, "sara", "pw-2") is None
            assert await auth.authenticate(s, "nobody", "pw-1") is None
        token = auth.make_token("secret", user)
        assert auth.read_token("secret", token) == {"username": "sara", "role": "lead"}
        for bad in (token[:-2] + "xx", token + "x"):
            with pytest.raises(auth.AuthError):
                auth.read_token("secret", bad)
        with pytest.raises(auth.AuthError):
            auth.read_token("another-secret", token)
        assert auth.role_at_least("manager", "lead") and not auth.role_at_least("agent", "lead")
        assert not auth.role_at_least("root", "agent")

        async with db() as s, s.begin():
            password = await auth.ensure_admin(s, tmp_path / "var")
        assert password and (tmp_path / "var" / "admin-password").read_text().strip() == password
        assert stat.S_IMODE((tmp_path / "var" / "admin-password").stat().st_mode) == 0o600
        async with db() as s, s.begin():
            assert await auth.ensure_admin(s, tmp_path / "var") is None
            key = await auth.add_api_key(s, "shop")
        async with db() as s:
            assert await auth.check_api_key(s, key) == "shop"
            assert await auth.check_api_key(s, key + "x") is None
            assert (await auth.authenticate(s, "admin", password)).role == "admin"
    finally:
        await engine.dispose()
