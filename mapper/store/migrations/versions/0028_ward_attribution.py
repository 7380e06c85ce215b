"""The source note of each ward's boundary: the attribution its importer stored.

Empty (every existing ward): the configured BOUNDARY_ATTRIBUTION (ONS, OGL, OS) applies. The
fictional demo borough stores that it is fictional, so that no download, page or PDF of it
claims ONS or OS copyright.

Revision ID: 0028
Revises: 0024
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add wards.attribution, empty for every stored ward."""
    op.add_column("wards", sa.Column("attribution", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop it again (SQLite 3.35+ drops a column in place, keeping the spatial metadata)."""
    op.execute("ALTER TABLE wards DROP COLUMN attribution")
