"""An index of community groups by status and kind, for the kinds the map's filter offers.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-02
"""

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Index community_groups on (status, kind): the kinds of active groups are then found a
    seek per kind (store/queries.active_kinds), not by reading every group."""
    op.create_index("ix_community_groups_status_kind", "community_groups", ["status", "kind"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_community_groups_status_kind", table_name="community_groups")
