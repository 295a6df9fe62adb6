"""Subscription tokens: the secret in a receipt's link/QR that proves a chat belongs to a dossier's applicant.

A token is random (`secrets.token_urlsafe`, 144 bits), names one dossier, expires, and is stored only as its
SHA-256: a leaked database does not leak working links. Its alphabet (A–Z a–z 0–9 _ -) and length fit
Telegram's `/start` parameter (≤ 64 characters).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Dossier, SubscriptionToken

TOKEN_BYTES = 18  # 24 characters
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class TokenLookup:
    """What a presented token is worth: its dossier, or why not."""

    status: Literal["ok", "expired", "unknown"]
    dossier: Dossier | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(text: str) -> bool:
    """True for strings of the token alphabet and length (cheap check before touching the database)."""
    return bool(TOKEN_RE.match(text))


async def issue_token(session: AsyncSession, dossier_id: int, *, now: datetime, ttl: timedelta) -> str:
    """A new token for one dossier, valid for `ttl`; the dossier's expired tokens are removed on the way."""
    await session.execute(
        delete(SubscriptionToken).where(SubscriptionToken.dossier_id == dossier_id, SubscriptionToken.expires_at < now)
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        SubscriptionToken(token_hash=hash_token(token), dossier_id=dossier_id, created_at=now, expires_at=now + ttl)
    )
    await session.flush()
    return token


async def resolve_token(session: AsyncSession, token: str, *, now: datetime) -> TokenLookup:
    """The dossier a token opens, or `expired` / `unknown`."""
    if not looks_like_token(token):
        return TokenLookup("unknown")
    row = await session.get(SubscriptionToken, hash_token(token))
    if row is None:
        return TokenLookup("unknown")
    if row.expires_at <= now:
        return TokenLookup("expired")
    dossier = (await session.execute(select(Dossier).where(Dossier.id == row.dossier_id))).scalar_one_or_none()
    if dossier is None:
        return TokenLookup("unknown")
    return TokenLookup("ok", dossier)
