"""channels: indexes for the inbox and outbox claims

Revision ID: 0002_channels
Revises: 0002_reports
Create Date: 2026-11-22 06:20:00

- ix_inbox_chat_open (channel, chat_key, status, id): "is there an older open update of this chat?" — the
  check that keeps one chat's messages in order — as one index probe per candidate.
- ix_outbox_recipient_open (channel, recipient, status, id): the same check for one recipient's messages.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_channels"
down_revision: str | None = "0002_reports"  # chained after the reports indexes (one head)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_chat_open", ["channel", "chat_key", "status", "id"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_recipient_open", ["channel", "recipient", "status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_recipient_open")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_chat_open")
