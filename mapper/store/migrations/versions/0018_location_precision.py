"""Sensitive locations: each community group's location precision.

`exact` (the default, every existing group), `approximate` (published at the centre of its
1 km British National Grid square) or `hidden` (published by ward only). The true point stays
in `geom`: the ward and the analysis use it.

Revision ID: 0018
Revises: 0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add community_groups.location_precision, `exact` for every stored group."""
    op.add_column(
        "community_groups",
        sa.Column(
            "location_precision", sa.String(length=12), nullable=False, server_default="exact"
        ),
    )


def downgrade() -> None:
    """Drop it again (SQLite 3.35+ drops a column in place, keeping the spatial metadata)."""
    op.execute("ALTER TABLE community_groups DROP COLUMN location_precision")
