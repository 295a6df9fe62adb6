"""Satisfaction ratings: one per dossier, given by a chat linked to it, changeable for a few days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.contacts import is_linked
from storage.models import ChatContact, Dossier, DossierStatus, Rating

# Level names by score. The 3-level scale is the national one; the 5-level scale (RATING_SCALE=5) adds the
# two extremes, and reports count very_satisfied + satisfied as "satisfied".
LEVELS: dict[int, dict[int, str]] = {
    3: {3: "very_satisfied", 2: "satisfied", 1: "not_satisfied"},
    5: {5: "very_satisfied", 4: "satisfied", 3: "neutral", 2: "not_satisfied", 1: "very_not_satisfied"},
}
DISSATISFIED = frozenset({"not_satisfied", "very_not_satisfied"})
MAX_COMMENT_CHARS = 2000


@dataclass(frozen=True)
class RatingResult:
    """The outcome of a rating attempt."""

    status: Literal["created", "updated", "too_late", "not_linked", "not_returned", "invalid"]
    rating: Rating | None = None


def level_for(score: int, scale: int) -> str | None:
    return LEVELS.get(scale, LEVELS[3]).get(score)


async def get_rating(session: AsyncSession, dossier_id: int) -> Rating | None:
    result = await session.execute(select(Rating).where(Rating.dossier_id == dossier_id))
    return result.scalar_one_or_none()


async def rate(
    session: AsyncSession,
    dossier: Dossier,
    contact: ChatContact,
    score: int,
    *,
    scale: int,
    change_days: int,
    now: datetime,
) -> RatingResult:
    """Record or change the rating of a returned dossier by a chat proven to belong to its applicant."""
    level = level_for(score, scale)
    if level is None:
        return RatingResult("invalid")
    if not await is_linked(session, contact.id, dossier.id):
        return RatingResult("not_linked")
    if dossier.status != DossierStatus.RETURNED:
        return RatingResult("not_returned")
    existing = await get_rating(session, dossier.id)
    if existing is None:
        rating = Rating(
            dossier_id=dossier.id,
            contact_id=contact.id,
            department_id=dossier.department_id,
            channel=contact.channel,
            level=level,
            score=score,
            created_at=now,
            updated_at=now,
        )
        session.add(rating)
        await session.flush()
        return RatingResult("created", rating)
    if now - existing.created_at > timedelta(days=change_days):
        return RatingResult("too_late", existing)
    existing.level, existing.score, existing.updated_at = level, score, now
    existing.contact_id, existing.channel = contact.id, contact.channel
    if level not in DISSATISFIED:
        existing.comment = None  # the comment explained a dissatisfaction that has been withdrawn
    return RatingResult("updated", existing)


async def set_comment(
    session: AsyncSession, dossier_id: int, contact: ChatContact, comment: str, now: datetime
) -> bool:
    """Attach a comment to the rating this chat gave; False when there is none to attach to."""
    rating = await get_rating(session, dossier_id)
    if rating is None or rating.contact_id != contact.id:
        return False
    rating.comment = comment.strip()[:MAX_COMMENT_CHARS] or None
    rating.updated_at = now
    return True


@dataclass
class RatingFilter:
    department_id: str | None = None
    levels: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None
    with_comment: bool = False


async def list_ratings(
    session: AsyncSession, flt: RatingFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[tuple[Rating, Dossier]], int]:
    """A page of ratings with their dossiers (newest first) and the total matching the filter."""
    conditions = []
    if flt.department_id:
        conditions.append(Rating.department_id == flt.department_id)
    if flt.levels:
        conditions.append(Rating.level.in_(list(flt.levels)))
    if flt.since:
        conditions.append(Rating.created_at >= flt.since)
    if flt.until:
        conditions.append(Rating.created_at < flt.until)
    if flt.with_comment:
        conditions.append(Rating.comment.is_not(None))
    total = (await session.execute(select(func.count(Rating.id)).where(*conditions))).scalar_one()
    rows = await session.execute(
        select(Rating, Dossier)
        .join(Dossier, Dossier.id == Rating.dossier_id)
        .where(*conditions)
        .order_by(Rating.created_at.desc(), Rating.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [(r, d) for r, d in rows.all()], int(total)
