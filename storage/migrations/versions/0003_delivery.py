"""delivery: the contact's last inbound message, for Zalo's 48-hour consultation window

Revision ID: 0003_delivery
Revises: 0002_channels
Create Date: 2026-12-04 20:15:00

- chat_contacts.last_inbound_at: when the citizen last wrote (or followed) — the start of Zalo's window in
  which the OA may answer with a consultation message.
- chat_contacts.last_inbound_message_id: that message's platform id (a consultation can reply to it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0003_delivery"
down_revision: str | None = "0002_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_inbound_at", storage.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_inbound_message_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_contacts", schema=None) as batch_op:
        batch_op.drop_column("last_inbound_message_id")
        batch_op.drop_column("last_inbound_at")
