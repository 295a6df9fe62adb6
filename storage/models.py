"""SQLAlchemy 2 models of the dossier store, the chat contacts and the delivery tables.

All times are stored in UTC (`UTCDateTime` makes SQLite return aware datetimes as PostgreSQL does);
what a person sees is converted to the centre's time zone at the edges.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT identity on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class DossierStatus(enum.StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    NEEDS_SUPPLEMENT = "needs_supplement"
    AWAITING_PAYMENT = "awaiting_payment"
    RESULT_READY = "result_ready"
    RETURNED = "returned"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    SUSPENDED = "suspended"


class ReceiptChannel(enum.StrEnum):
    DIRECT = "direct"
    ONLINE = "online"
    POSTAL = "postal"


class ReturnMethod(enum.StrEnum):
    COUNTER = "counter"
    POSTAL = "postal"


class Role(enum.StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    INTEGRATION = "integration"


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    short_name: Mapped[str | None] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16), default="provincial")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Procedure(Base):
    __tablename__ = "procedures"

    id: Mapped[str] = mapped_column(String(96), primary_key=True)
    code: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    processing_days: Mapped[int | None] = mapped_column(Integer)
    # False when the procedure left the knowledge base: old dossiers keep pointing at it.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")


class Dossier(Base):
    __tablename__ = "dossiers"
    __table_args__ = (
        Index("ix_dossiers_dept_status_due", "department_id", "status", "due_at"),
        Index("ix_dossiers_status_due", "status", "due_at"),
        Index("ix_dossiers_received_at", "received_at"),
        Index("ix_dossiers_returned_at", "returned_at"),
        Index("ix_dossiers_procedure_received", "procedure_id", "received_at"),
        # Leads with resolved_at (replaced ix_dossiers_resolved_at); with received_at it finds the dossiers
        # received before a report's period and resolved since its start (storage/reports.py).
        Index("ix_dossiers_resolved_received", "resolved_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    # Upper case, letters and digits only: what a person types is reduced to this for lookups.
    code_key: Mapped[str] = mapped_column(String(40), unique=True)
    procedure_id: Mapped[str] = mapped_column(ForeignKey("procedures.id"))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_phone: Mapped[str | None] = mapped_column(String(20))
    applicant_id_number: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(16))
    return_method: Mapped[str] = mapped_column(String(16), default=ReturnMethod.COUNTER.value)
    status: Mapped[str] = mapped_column(String(24), default=DossierStatus.RECEIVED.value)
    received_at: Mapped[datetime]
    due_at: Mapped[datetime]
    original_due_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]
    supplement_deadline: Mapped[datetime | None]
    fees: Mapped[int | None] = mapped_column(BigInteger)
    documents: Mapped[list[str] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    # Fingerprint of an imported CSV row without a code: re-importing the same file changes nothing.
    import_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    procedure: Mapped[Procedure] = relationship(lazy="raise")
    department: Mapped[Department] = relationship(lazy="raise")


class DossierEvent(Base):
    __tablename__ = "dossier_events"
    __table_args__ = (
        UniqueConstraint("dossier_id", "request_key", name="uq_dossier_events_request"),
        # Reports: when withdrawn dossiers were withdrawn (storage/reports.py); a small partial index.
        Index(
            "ix_dossier_events_withdrawn",
            "at",
            "dossier_id",
            postgresql_where=text("to_status = 'withdrawn'"),
            sqlite_where=text("to_status = 'withdrawn'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    # The client's Idempotency-Key (or a hash of the request): a retried API call changes nothing.
    request_key: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ChatContact(Base):
    """A chat on a platform (Telegram chat, Zalo user, console session)."""

    __tablename__ = "chat_contacts"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_chat_contacts_channel_chat"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The citizen's last message (or follow) and its platform id: Zalo's consultation window starts there.
    last_inbound_at: Mapped[datetime | None]
    last_inbound_message_id: Mapped[str | None] = mapped_column(String(64))


class DossierLink(Base):
    """A chat proven to belong to a dossier's applicant (receipt link/QR or phone digits)."""

    __tablename__ = "dossier_links"
    __table_args__ = (UniqueConstraint("contact_id", "dossier_id", name="uq_dossier_links_pair"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("chat_contacts.id", ondelete="CASCADE"))
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    via: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubscriptionToken(Base):
    __tablename__ = "subscription_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class InboxUpdate(Base):
    """A webhook update, stored before it is acknowledged; handled once."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "update_key", name="uq_inbox_channel_update"),
        Index("ix_inbox_status_available", "status", "available_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_key: Mapped[str] = mapped_column(String(128))
    chat_key: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A message to send; written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24), default="reply")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("chat_contacts.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_message_id: Mapped[str | None] = mapped_column(String(64), index=True)


class Rating(Base):
    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("chat_contacts.id", ondelete="SET NULL"))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(24))  # very_satisfied | satisfied | not_satisfied
    score: Mapped[int] = mapped_column(Integer)  # 1..3 or 1..5 with RATING_SCALE=5
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OfficerRecipient(Base):
    __tablename__ = "officer_recipients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    telegram_chat_id: Mapped[str | None] = mapped_column(String(32))
    zalo_user_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))  # sms | telegram | zalo
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Handoff(Base):
    """A conversation handed to the officers' group."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("chat_contacts.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(32))


class PlatformToken(Base):
    """Durable OAuth tokens (Zalo's refresh token is single-use and rotates)."""

    __tablename__ = "platform_tokens"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SchedulerJob(Base):
    """One row a scheduled job: its lease (one runner across replicas) and its last run (catch-up)."""

    __tablename__ = "scheduler_jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    lease_holder: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)


# Indexes of the channel workers' claims (migration 0002_channels): the oldest open update of a chat (one
# chat is handled in order) and a recipient's open outbox messages, each found with one index probe.
Index("ix_inbox_chat_open", InboxUpdate.channel, InboxUpdate.chat_key, InboxUpdate.status, InboxUpdate.id)
Index(
    "ix_outbox_recipient_open", OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.status, OutboxMessage.id
)
