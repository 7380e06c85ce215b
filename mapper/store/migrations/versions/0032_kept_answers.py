"""Answers that took long to compute, kept for every process and instance (store/kept.py).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create kept_answers: one row per question, the latest answer kept for it."""
    op.create_table(
        "kept_answers",
        sa.Column("question", sa.Text, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("kept_on", sa.Date, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":  # already compact: not compressed again
        op.execute("ALTER TABLE kept_answers ALTER COLUMN body SET STORAGE EXTERNAL")


def downgrade() -> None:
    """Drop the kept answers (a cache: nothing is lost)."""
    op.drop_table("kept_answers")
