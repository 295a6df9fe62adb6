"""reports: indexes for the period summary

Revision ID: 0002_reports
Revises: 0001
Create Date: 2026-11-22 06:00:00

- ix_dossiers_resolved_received (resolved_at, received_at), replacing ix_dossiers_resolved_at: dossiers
  received before a period and resolved since its start (or never) — the "carried over" and "in progress"
  figures — found without reading every dossier resolved since.
- ix_dossier_events_withdrawn (at, dossier_id) WHERE to_status = 'withdrawn': when withdrawn dossiers were
  withdrawn (an index-only scan).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_reports"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WITHDRAWN = sa.text("to_status = 'withdrawn'")


def upgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.create_index("ix_dossiers_resolved_received", ["resolved_at", "received_at"], unique=False)
        # The new index leads with resolved_at: it serves every query the old one did, and the planner no
        # longer picks the narrower one for "resolved since the start" and then reads ten times the rows.
        batch_op.drop_index("ix_dossiers_resolved_at")
    with op.batch_alter_table("dossier_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dossier_events_withdrawn",
            ["at", "dossier_id"],
            unique=False,
            postgresql_where=WITHDRAWN,
            sqlite_where=WITHDRAWN,
        )


def downgrade() -> None:
    with op.batch_alter_table("dossier_events", schema=None) as batch_op:
        batch_op.drop_index("ix_dossier_events_withdrawn")
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.create_index("ix_dossiers_resolved_at", ["resolved_at"], unique=False)
        batch_op.drop_index("ix_dossiers_resolved_received")
