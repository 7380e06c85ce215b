"""Hardening: a session epoch per user (signing out ends the session), rate-limit counters.

Revision ID: 0011
Revises: 0013
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add users.session_epoch and the rate_limit_counters table."""
    op.add_column(
        "users",
        sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("rate_limit_counters")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")
