"""Users, roles, passwords, tokens and API keys."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import auth
from hub.auth import AuthError
from hub.store.models import ApiKey, User
from tests.support.store import migrated


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(f"sqlite+aiosqlite:///{tmp_path}/auth.db") as sessions:
        yield sessions


def test_hash_and_check_password() -> None:
    hashed = auth.hash_password("correct horse ✓ رمز")
    assert "correct horse" not in hashed
    assert auth.check_password("correct horse ✓ رمز", hashed)
    assert not auth.check_password("correct horse", hashed)
    assert not auth.check_password("", hashed)
    again = auth.hash_password("correct horse ✓ رمز")
    assert again != hashed and auth.check_password("correct horse ✓ رمز", again)


def test_check_password_against_a_garbage_hash_is_false() -> None:
    assert auth.check_password("pw", "not-a-bcrypt-hash") is False


ORDER = ["agent", "lead", "manager", "admin"]


@pytest.mark.parametrize("role", ORDER)
@pytest.mark.parametrize("needed", ORDER)
def test_role_at_least_follows_agent_lead_manager_admin(role: str, needed: str) -> None:
    assert auth.role_at_least(role, needed) is (ORDER.index(role) >= ORDER.index(needed))


@pytest.mark.parametrize("role", ["", "root", "Admin", "superuser"])
def test_unknown_role_has_no_rights(role: str) -> None:
    assert auth.role_at_least(role, "agent") is False


def test_token_round_trip() -> None:
    token = auth.make_token("secret-1", User(username="alice", role="lead"))
    assert auth.read_token("secret-1", token) == {"username": "alice", "role": "lead", "generation": 0, "session": ""}


def test_tampered_token_raises() -> None:
    token = auth.make_token("secret-1", User(username="alice", role="agent"))
    payload, ts, sig = token.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    with pytest.raises(AuthError):
        auth.read_token("secret-1", f"{payload}.{ts}.{flipped}")
    forged = auth.make_token("other", User(username="alice", role="admin")).split(".")[0]
    with pytest.raises(AuthError):
        auth.read_token("secret-1", f"{forged}.{ts}.{sig}")
    with pytest.raises(AuthError):
        auth.read_token("secret-1", "garbage")
    with pytest.raises(AuthError):
        auth.read_token("secret-1", "")


def test_token_from_another_secret_raises() -> None:
    token = auth.make_token("secret-1", User(username="alice", role="agent"))
    with pytest.raises(AuthError):
        auth.read_token("secret-2", token)


def test_old_token_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    token = auth.make_token("secret-1", User(username="alice", role="agent"))
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + auth.TOKEN_MAX_AGE - 60)
    assert auth.read_token("secret-1", token)["username"] == "alice"
    monkeypatch.setattr(time, "time", lambda: now + auth.TOKEN_MAX_AGE + 60)
    with pytest.raises(AuthError, match="expired"):
        auth.read_token("secret-1", token)


async def test_add_user_and_authenticate(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s, s.begin():
        await auth.add_user(s, "alice", "agent", "alice-pw", email="alice@example.com", queues=["support", "sales"], capacity=3)
    async with sessions() as s:
        user = await s.get(User, "alice")
        assert user is not None
        assert (user.role, user.email, user.queues, user.capacity) == ("agent", "alice@example.com", ["support", "sales"], 3)
        assert user.password_hash != "alice-pw"
        assert (await auth.authenticate(s, "alice", "alice-pw")) is not None
        assert await auth.authenticate(s, "alice", "wrong") is None
        assert await auth.authenticate(s, "nobody", "alice-pw") is None


async def test_add_user_rejects_a_duplicate(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s, s.begin():
        await auth.add_user(s, "alice", "agent", "one")
    async with sessions() as s:
        with pytest.raises(AuthError, match="exists"):
            await auth.add_user(s, "alice", "admin", "two")
        await s.rollback()
    async with sessions() as s:
        user = await s.get(User, "alice")
        assert user is not None and user.role == "agent"
        assert await auth.authenticate(s, "alice", "one") is not None


async def test_add_user_rejects_a_duplicate_in_the_same_session(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s:
        await auth.add_user(s, "alice", "agent", "one")
        with pytest.raises(AuthError):
            await auth.add_user(s, "alice", "agent", "two")


@pytest.mark.parametrize("role", ["root", "", "Agent", "supervisor"])
async def test_add_user_rejects_a_bad_role(sessions: async_sessionmaker[AsyncSession], role: str) -> None:
    async with sessions() as s:
        with pytest.raises(AuthError, match="role"):
            await auth.add_user(s, "bob", role, "pw")
        await s.commit()
    async with sessions() as s:
        assert await s.get(User, "bob") is None


@pytest.mark.parametrize("username", ["", "x" * 65])
async def test_add_user_rejects_a_bad_username(sessions: async_sessionmaker[AsyncSession], username: str) -> None:
    async with sessions() as s:
        with pytest.raises(AuthError, match="username"):
            await auth.add_user(s, username, "agent", "pw")


async def test_ensure_admin_once(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    var = tmp_path / "var"
    async with sessions() as s, s.begin():
        password = await auth.ensure_admin(s, var)
    assert password
    path = var / "admin-password"
    assert path.read_text().strip() == password
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    async with sessions() as s:
        admin = await auth.authenticate(s, "admin", password)
        assert admin is not None and admin.role == "admin"
    async with sessions() as s, s.begin():
        assert await auth.ensure_admin(s, var) is None
    assert path.read_text().strip() == password
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 1


async def test_ensure_admin_not_needed_when_an_admin_exists(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    async with sessions() as s, s.begin():
        await auth.add_user(s, "root", "admin", "pw")
    async with sessions() as s, s.begin():
        assert await auth.ensure_admin(s, tmp_path / "var") is None
    assert not (tmp_path / "var" / "admin-password").exists()


async def test_ensure_admin_when_only_lesser_roles_exist(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    async with sessions() as s, s.begin():
        await auth.add_user(s, "maria", "manager", "pw")
    async with sessions() as s, s.begin():
        assert await auth.ensure_admin(s, tmp_path / "var")


async def test_api_keys(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s, s.begin():
        key = await auth.add_api_key(s, "crm")
        other = await auth.add_api_key(s, "billing")
    assert key != other
    async with sessions() as s:
        assert await auth.check_api_key(s, key) == "crm"
        assert await auth.check_api_key(s, other) == "billing"
        assert await auth.check_api_key(s, key + "x") is None
        assert await auth.check_api_key(s, "hub_wrong") is None
        assert await auth.check_api_key(s, "") is None
        stored = await s.get(ApiKey, "crm")
        assert stored is not None and key not in stored.key_hash


async def test_api_key_name_is_unique(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s, s.begin():
        await auth.add_api_key(s, "crm")
    async with sessions() as s:
        with pytest.raises(AuthError):
            await auth.add_api_key(s, "crm")


async def test_a_missing_or_disabled_user_costs_the_same_bcrypt_work_off_the_event_loop(
        sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    checked: list[tuple[str, str]] = []
    real = auth.check_password

    def recording(password: str, hashed: str) -> bool:
        checked.append((hashed, threading.current_thread().name))
        return real(password, hashed)

    monkeypatch.setattr(auth, "check_password", recording)
    async with sessions() as s, s.begin():
        await auth.add_user(s, "dina", "agent", "dina-pw")
    async with sessions() as s:
        assert (await auth.authenticate(s, "dina", "dina-pw")) is not None
        assert await auth.authenticate(s, "nobody", "dina-pw") is None
        user = await auth.authenticate(s, "dina", "dina-pw")
        assert user is not None
        user.disabled = True
        await s.commit()
    async with sessions() as s:
        assert await auth.authenticate(s, "dina", "dina-pw") is None  # disabled: refused, after the same check
    assert len(checked) == 4
    costs = {hashed[:7] for hashed, _ in checked}
    assert costs == {f"$2b${auth.PASSWORD_ROUNDS}$"}  # the stand-in is a real hash of the same cost
    assert checked[1][0] != checked[0][0] and real("dina-pw", checked[1][0]) is False
    assert all(thread.startswith("bcrypt") for _, thread in checked)  # never on the event loop's thread
