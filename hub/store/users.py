"""The users and API keys hub/auth.py keeps (it decides roles, hashes and checks; this
reads and writes the rows). A single user is read with lookups.user."""

from __future__ import annotations

from sqlalchemy import select
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
