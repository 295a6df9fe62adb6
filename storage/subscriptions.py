"""Subscription tokens: the secret in a receipt's link/QR that proves a chat belongs to a dossier's applicant.

A token names one dossier, expires, and is stored only as its SHA-256: a leaked database does not leak working
links. It is 20 characters of an alphabet a person can read off paper and type (digits and capitals without
0/O, 1/I/L: about 99 bits), which fits Telegram's `/start` parameter; lower case typed is accepted.

A dossier has one live token that every read (the API's view, each printed receipt) shows again: the token is
derived from a server-side key and its row (HMAC), so it can be shown again without being stored. A new one is
issued only when the dossier has none with at least half its life left, or on an explicit rotation, which
revokes the old ones. Tokens of the earlier format (`secrets.token_urlsafe`) keep working until they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Dossier, SubscriptionToken

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
TOKEN_CHARS = 20
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")  # this format and the earlier urlsafe one


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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _encode(data: bytes) -> str:
    """TOKEN_CHARS characters of ALPHABET from the bytes (big-endian base-31 digits)."""
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(TOKEN_CHARS):
        number, digit = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(chars)


def derive_token(key: bytes, dossier_id: int, created_at: datetime) -> str:
    """The token of the row (dossier, creation time) under `key`."""
    stamp = (created_at - _EPOCH) // timedelta(microseconds=1)  # exact, where a float timestamp is not
    return _encode(hmac.new(key, f"subscribe:{dossier_id}:{stamp}".encode("ascii"), hashlib.sha256).digest())


def random_token() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_CHARS))


async def issue_token(
    session: AsyncSession, dossier_id: int, *, now: datetime, ttl: timedelta, key: bytes | None = None
) -> str:
    """A new token for one dossier, valid for `ttl` (derived from `key` when given, so it can be shown again);
    the dossier's expired tokens are removed on the way."""
    await session.execute(
        delete(SubscriptionToken).where(SubscriptionToken.dossier_id == dossier_id, SubscriptionToken.expires_at < now)
    )
    token = derive_token(key, dossier_id, now) if key is not None else random_token()
    session.add(
        SubscriptionToken(token_hash=hash_token(token), dossier_id=dossier_id, created_at=now, expires_at=now + ttl)
    )
    await session.flush()
    return token


async def live_token(
    session: AsyncSession, dossier_id: int, *, now: datetime, ttl: timedelta, key: bytes
) -> tuple[str, datetime]:
    """The dossier's live token and its expiry: the one issued before while at least half its life remains,
    else a new one (the older stay valid until they expire: they may be printed)."""
    rows = (
        await session.execute(
            select(SubscriptionToken)
            .where(SubscriptionToken.dossier_id == dossier_id, SubscriptionToken.expires_at >= now + ttl / 2)
            .order_by(SubscriptionToken.created_at.desc())
        )
    ).scalars()
    for row in rows:
        candidate = derive_token(key, dossier_id, row.created_at)
        if hmac.compare_digest(hash_token(candidate), row.token_hash):
            return candidate, row.expires_at
    return await issue_token(session, dossier_id, now=now, ttl=ttl, key=key), now + ttl


async def rotate_token(
    session: AsyncSession, dossier_id: int, *, now: datetime, ttl: timedelta, key: bytes
) -> tuple[str, datetime]:
    """Revoke every token of the dossier and issue a new one."""
    await session.execute(delete(SubscriptionToken).where(SubscriptionToken.dossier_id == dossier_id))
    return await issue_token(session, dossier_id, now=now, ttl=ttl, key=key), now + ttl


async def resolve_token(session: AsyncSession, token: str, *, now: datetime) -> TokenLookup:
    """The dossier a token opens, or `expired` / `unknown` (a token of this format may be typed in lower case)."""
    if not looks_like_token(token):
        return TokenLookup("unknown")
    row = await session.get(SubscriptionToken, hash_token(token))
    if row is None and token.upper() != token:
        row = await session.get(SubscriptionToken, hash_token(token.upper()))
    if row is None:
        return TokenLookup("unknown")
    if row.expires_at <= now:
        return TokenLookup("expired")
    dossier = (await session.execute(select(Dossier).where(Dossier.id == row.dossier_id))).scalar_one_or_none()
    if dossier is None:
        return TokenLookup("unknown")
    return TokenLookup("ok", dossier)
