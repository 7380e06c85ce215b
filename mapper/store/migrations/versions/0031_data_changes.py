"""The journal of the data version: which wards and points each version changed.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create data_changes (store/version.py): a row per data version from now on; an older
    version has none, so an answer cached at it is computed afresh."""
    op.create_table(
        "data_changes",
        sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("wards", sa.Text),
        sa.Column("points", sa.Text),
    )


def downgrade() -> None:
    """Drop the journal."""
    op.drop_table("data_changes")
