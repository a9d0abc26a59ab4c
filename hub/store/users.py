"""The users and API keys hub/auth.py keeps (it decides roles, hashes and checks; this
reads and writes the rows). A single user is read with lookups.user."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.models import ApiKey, User


def add_user(s: AsyncSession, user: User) -> None:
    """In the caller's transaction."""
    s.add(user)


async def an_admin(s: AsyncSession) -> User | None:
    """Some user with the admin role, if any has it."""
    return (await s.scalars(select(User).where(User.role == "admin").limit(1))).first()


async def api_key(s: AsyncSession, name: str) -> ApiKey | None:
    return await s.get(ApiKey, name)


async def api_key_with_hash(s: AsyncSession, key_hash: str) -> ApiKey | None:
    return (await s.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash))).first()


def add_api_key(s: AsyncSession, key: ApiKey) -> None:
    """In the caller's transaction."""
    s.add(key)


async def all_users(s: AsyncSession) -> list[User]:
    return list(await s.scalars(select(User).order_by(User.username)))


async def admins(s: AsyncSession) -> list[str]:
    """The usernames that may administer the hub (not disabled)."""
    return list(await s.scalars(select(User.username).where(User.role == "admin", User.disabled.is_(False))))


async def remove_user(s: AsyncSession, username: str) -> bool:
    return bool((await s.execute(delete(User).where(User.username == username))).rowcount)


async def all_api_keys(s: AsyncSession) -> list[ApiKey]:
    return list(await s.scalars(select(ApiKey).order_by(ApiKey.name)))


async def remove_api_key(s: AsyncSession, name: str) -> bool:
    return bool((await s.execute(delete(ApiKey).where(ApiKey.name == name))).rowcount)
