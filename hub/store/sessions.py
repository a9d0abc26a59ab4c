"""What ends a signed-in session: each user's token generation and disabled flag, and the
sessions signed out of (hub/web/sessions.py decides; this keeps the rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.db import insert_ignore
from hub.store.models import SignedOutSession, User


@dataclass(frozen=True)
class UserState:
    generation: int
    role: str
    disabled: bool


async def user_state(s: AsyncSession, username: str) -> UserState | None:
    """None for a user who does not exist (or no longer does)."""
    row = (await s.execute(select(User.token_generation, User.role, User.disabled).where(User.username == username))).first()
    return UserState(int(row[0] or 0), row[1], bool(row[2])) if row is not None else None


async def end_sessions(s: AsyncSession, username: str) -> int | None:
    """Moves the user's generation on (every token signed before stops working); the new
    generation, or None for no such user. In the caller's transaction."""
    await s.execute(update(User).where(User.username == username).values(token_generation=User.token_generation + 1))
    found = await s.scalar(select(User.token_generation).where(User.username == username))
    return int(found) if found is not None else None


async def sign_out(s: AsyncSession, session_id: str, username: str, expires_at: datetime) -> None:
    await insert_ignore(s, SignedOutSession, {"id": session_id, "username": username, "expires_at": expires_at}, ["id"])


async def signed_out(s: AsyncSession, now: datetime) -> set[str]:
    """The sessions signed out of whose tokens have not expired yet; the expired are forgotten."""
    await s.execute(delete(SignedOutSession).where(SignedOutSession.expires_at <= now))
    return set(await s.scalars(select(SignedOutSession.id)))
