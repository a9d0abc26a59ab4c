"""Users, roles, passwords, bearer tokens and API keys."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
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
PASSWORD_ROUNDS = 10
# bcrypt lets go of the GIL: checks run on these threads, never on the event loop, and at
# most this many at once (the rest wait their turn instead of taking every core).
_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bcrypt")


class AuthError(ValueError):
    pass


def role_at_least(role: str, needed: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=PASSWORD_ROUNDS)).decode()


def check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


@cache
def _stand_in_hash() -> str:
    """A real hash of a password nobody knows, at the same cost: checking a missing user
    against it costs what checking a real one does, so timing does not tell them apart."""
    return hash_password(secrets.token_urlsafe(32))


async def verify_password(password: str, hashed: str | None) -> bool:
    """bcrypt off the event loop; `hashed` None (no such user) does the same work and fails."""
    loop = asyncio.get_running_loop()
    ok = await loop.run_in_executor(_CHECKS, check_password, password, hashed or _stand_in_hash())
    return ok and hashed is not None


async def hashed_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_CHECKS, hash_password, password)


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="hub.token")


def make_token(secret: str, user: User, session: str = "") -> str:
    """Signed: the user, her role, the generation she signed in at and the session's id."""
    return _serializer(secret).dumps({"u": user.username, "r": user.role, "g": user.token_generation or 0, "s": session})


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def read_token(secret: str, token: str) -> dict[str, Any]:
    """The token's claims once its signature and age are good; whether its session still
    stands is hub/web/sessions.py's to say."""
    try:
        data = _serializer(secret).loads(token, max_age=TOKEN_MAX_AGE)
    except SignatureExpired as exc:
        raise AuthError("token expired") from exc
    except (BadSignature, UnicodeError) as exc:  # bytes that are not UTF-8 in a header or cookie
        raise AuthError("invalid token") from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), str) or not isinstance(data.get("r"), str):
        raise AuthError("invalid token")
    return {"username": data["u"], "role": data["r"], "generation": int(data.get("g") or 0), "session": str(data.get("s") or "")}


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
        password_hash=await hashed_password(password),  # on the bcrypt threads: the admin API adds users from the web role
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
    """The user when the password is hers and she is not disabled. A missing or disabled
    user costs the same bcrypt work as a real one (off the event loop)."""
    user = await lookups.user(session, username)
    right = await verify_password(password, user.password_hash if user is not None else None)
    return user if right and user is not None and not user.disabled else None


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
    """Verified keys for a minute, so an integrator's burst costs one lookup. A revoked key
    is forgotten at once by every web process (ApiKeyRevoked on `live`); the minute is the
    bound when that frame was lost."""

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

    def forget(self, name: str) -> None:
        for key in [k for k, (n, _) in self._seen.items() if n == name]:
            self._seen.pop(key, None)
