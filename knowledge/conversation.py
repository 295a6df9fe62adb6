"""What a conversation about procedures remembers between two messages: the procedure and aspect last
answered, and a clarifying question still open. Plain data, stored as JSON by whoever keeps the chat's state
(the FAQ handler in the state store, `motcua ask` per session)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from knowledge.aspects import ASPECTS

MAX_PENDING = 6


@dataclass(frozen=True, slots=True)
class Pending:
    """A clarifying question the bot asked: the entries offered, the aspect asked, and the family whose
    question it was (None for a list of titles)."""

    ids: tuple[str, ...]
    aspect: str = "overview"
    family: str | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    """The context a follow-up resolves against."""

    procedure: str | None = None
    aspect: str | None = None
    pending: Pending | None = None

    @property
    def empty(self) -> bool:
        return self.procedure is None and self.pending is None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"procedure": self.procedure, "aspect": self.aspect}
        if self.pending is not None:
            data["pending"] = {
                "ids": list(self.pending.ids),
                "aspect": self.pending.aspect,
                "family": self.pending.family,
            }
        return data

    @classmethod
    def from_json(cls, data: object) -> Conversation | None:
        """The conversation stored as `to_json` wrote it; None for anything else (old or foreign data)."""
        if not isinstance(data, dict):
            return None
        procedure = data.get("procedure")
        aspect = data.get("aspect")
        pending = None
        raw = data.get("pending")
        if isinstance(raw, dict) and isinstance(raw.get("ids"), list):
            ids = tuple(str(item) for item in raw["ids"][:MAX_PENDING] if isinstance(item, str))
            pending_aspect = str(raw["aspect"]) if raw.get("aspect") in ASPECTS else "overview"
            family = raw.get("family") if isinstance(raw.get("family"), str) else None
            if ids:
                pending = Pending(ids, pending_aspect, family)
        conversation = cls(
            procedure=procedure if isinstance(procedure, str) else None,
            aspect=aspect if aspect in ASPECTS else None,
            pending=pending,
        )
        return None if conversation.empty else conversation


__all__ = ["Conversation", "Pending"]
