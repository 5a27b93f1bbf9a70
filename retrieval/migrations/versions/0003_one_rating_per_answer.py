"""One rating per answer: a later rating replaces the earlier one (unique feedback.message_id).

Rows that would break the unique index are dropped first, keeping each message's newest rating (largest id).
Databases that an older shopbot gave the unique index already keep it; the plain index it replaces goes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    indexes = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("feedback")}
    if "ux_feedback_message" not in indexes:
        feedback = sa.table("feedback", sa.column("id", sa.Integer()), sa.column("message_id", sa.Integer()))
        newest = sa.select(sa.func.max(feedback.c.id)).group_by(feedback.c.message_id)
        op.execute(sa.delete(feedback).where(feedback.c.id.not_in(newest)))
        op.create_index("ux_feedback_message", "feedback", ["message_id"], unique=True)
    if "ix_feedback_message_id" in indexes:
        op.drop_index("ix_feedback_message_id", table_name="feedback")


def downgrade() -> None:
    op.create_index("ix_feedback_message_id", "feedback", ["message_id"])
    op.drop_index("ux_feedback_message", table_name="feedback")
