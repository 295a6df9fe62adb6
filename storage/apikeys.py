"""API keys: random secrets shown once, stored as SHA-256 hashes, with a role and a department."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import InvalidInput, NotFound
from storage.models import ApiKey, Department, Role, utcnow

KEY_PREFIX = "mc_"


@dataclass(frozen=True)
class Principal:
    """Who is calling the API."""

    key_id: int
    name: str
    role: str
    department_id: str | None

    @property
    def actor(self) -> str:
        return f"apikey:{self.key_id}:{self.name}"

    def sees_department(self, department_id: str) -> bool:
        return self.role != Role.OFFICER or self.department_id == department_id


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


async def create_api_key(
    session: AsyncSession, *, name: str, role: str, department_id: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the secret, which is never stored."""
    if role not in {r.value for r in Role}:
        raise InvalidInput(f"role must be one of {', '.join(r.value for r in Role)}", code="invalid_role")
    if role == Role.OFFICER and not department_id:
        raise InvalidInput("an officer key needs a department", code="department_required")
    if department_id is not None and await session.get(Department, department_id) is None:
        raise InvalidInput(f"Unknown department {department_id!r}", code="unknown_department")
    if not name.strip():
        raise InvalidInput("a key needs a name", code="invalid_name")
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(name=name.strip(), role=role, department_id=department_id, prefix=prefix, key_hash=hash_key(secret))
    session.add(row)
    await session.flush()
    return row, secret


async def authenticate(session: AsyncSession, secret: str, *, now: datetime | None = None) -> Principal | None:
    """The principal of a valid, unrevoked key; None otherwise."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    result = await session.execute(select(ApiKey).where(ApiKey.key_hash == hash_key(secret)))
    row = result.scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    row.last_used_at = now or utcnow()
    return Principal(key_id=row.id, name=row.name, role=row.role, department_id=row.department_id)


async def revoke_api_key(session: AsyncSession, key_id: int) -> ApiKey:
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"No API key {key_id}", code="apikey_not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    result = await session.execute(select(ApiKey).order_by(ApiKey.id))
    return list(result.scalars())
