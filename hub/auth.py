"""Users, roles, passwords, bearer tokens and API keys."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any

import bcrypt
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from hub.events import utcnow
from hub.store import lookups
from hub.store import users as stored
from hub.store.models import ApiKey, User

ROLES = ("agent", "lead", "manager", "admin")  # each has the rights of those before it
TOKEN_MAX_AGE = 12 * 3600


class AuthError(ValueError):
    pass


def role_at_least(role: str, needed: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="hub.token")


def make_token(secret: str, user: User) -> str:
    return _serializer(secret).dumps({"u": user.username, "r": user.role})


def read_token(secret: str, token: str) -> dict[str, Any]:
    try:
        data = _serializer(secret).loads(token, max_age=TOKEN_MAX_AGE)
    except SignatureExpired as exc:
        raise AuthError("token expired") from exc
    except BadSignature as exc:
        raise AuthError("invalid token") from exc
    return {"username": data["u"], "role": data["r"]}


async def add_user(
    session: AsyncSession,
    username: str,
    role: str,
    password: str,
    *,
    email: str | None = None,
    telegram: str | None = None,
    phone: str | None = None,
    queues: list[str] | None = None,
    capacity: int = 5,
) -> User:
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 64:
        raise AuthError("username must be 1 to 64 characters")
    if await lookups.user(session, username) is not None:
        raise AuthError(f"user {username!r} exists already")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        email=email,
        telegram=telegram,
        phone=phone,
        queues=list(queues or []),  # none: the default queue, applied where queues are read (Settings.agent_queues)
        capacity=capacity,
        created_at=utcnow(),
    )
    stored.add_user(session, user)
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    user = await lookups.user(session, username)
    if user is None:
        check_password(password, "$2b$10$" + "x" * 53)  # same cost whether or not the user exists
        return None
    return user if check_password(password, user.password_hash) else None


async def ensure_admin(session: AsyncSession, var_dir: Path) -> str | None:
    """On first start, create `admin` with a random password; returns it (printed once)."""
    if await stored.an_admin(session) is not None:
        return None
    password = secrets.token_urlsafe(12)
    await add_user(session, "admin", "admin", password)
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "admin-password"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    os.chmod(path, 0o600)
    return password


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def add_api_key(session: AsyncSession, name: str) -> str:
    if await stored.api_key(session, name) is not None:
        raise AuthError(f"API key {name!r} exists already")
    key = "hub_" + secrets.token_urlsafe(32)
    stored.add_api_key(session, ApiKey(name=name, key_hash=_key_hash(key), created_at=utcnow()))
    return key


async def check_api_key(session: AsyncSession, key: str) -> str | None:
    """The key's name, or None. Only the hash is stored; compare in constant time."""
    wanted = _key_hash(key)
    row = await stored.api_key_with_hash(session, wanted)
    if row is None or not hmac.compare_digest(row.key_hash, wanted):
        return None
    return row.name


class ApiKeyCache:
    """Verified keys for a minute, so an integrator's burst costs one lookup. Keys cannot be
    revoked yet; when they can, a revoked key stops working within the minute."""

    TTL = 60.0

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        hit = self._seen.get(key)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        return None

    def put(self, key: str, name: str) -> None:
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[key] = (name, time.monotonic() + self.TTL)
