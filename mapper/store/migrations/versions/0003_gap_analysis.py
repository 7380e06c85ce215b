"""Gap analysis: wards keep their coordinator coverage; indexes for counting per ward.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-27
"""

import shapely
import sqlalchemy as sa
from alembic import op

from mapper import geo

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the gap analysis's coordinator coverage and covering indexes."""
    op.add_column("wards", sa.Column("coordinator_coverage", sa.Float(), nullable=True))
    op.create_index(
        "ix_group_wards_served_ward_id", "group_wards_served", ["ward_id"], unique=False
    )
    op.create_index(
        "ix_community_groups_ward_counts",
        "community_groups",
        ["ward_id", "status", "last_verified", "kind"],
        unique=False,
    )
    # Measure the wards already stored, as mapper.core.wards does whenever they change.
    connection = op.get_bind()
    wards = connection.execute(sa.text("SELECT id, ST_AsBinary(geom) FROM wards")).all()
    patches = connection.execute(
        sa.text("SELECT ST_AsBinary(patch) FROM coordinators WHERE patch IS NOT NULL")
    ).scalars()
    if wards:
        shares = geo.coverage_shares(
            shapely.from_wkb([w[1] for w in wards]), shapely.from_wkb(list(patches))
        )
        connection.execute(
            sa.text("UPDATE wards SET coordinator_coverage = :share WHERE id = :id"),
            [{"id": w[0], "share": float(s)} for w, s in zip(wards, shares, strict=True)],
        )


def downgrade() -> None:
    """Remove what upgrade added."""
    op.drop_index("ix_community_groups_ward_counts", table_name="community_groups")
    op.drop_index("ix_group_wards_served_ward_id", table_name="group_wards_served")
    op.drop_column("wards", "coordinator_coverage")
