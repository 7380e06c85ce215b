"""Organisation identifiers: the org-ids (GB-CHC-1234567, GB-COH-01234567…) of groups and
organisations, several per body, stored normalised so that imports and searches match them.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    """Create org_ids."""
    op.create_table(
        "org_ids",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scheme", sa.String(20), nullable=False),
        sa.Column("identifier", sa.String(60), nullable=False),
        sa.Column("value", sa.String(80), nullable=False),
        sa.Column(
            "group_id",
            sa.Integer,
            sa.ForeignKey("community_groups.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "organisation_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "(group_id IS NULL) <> (organisation_id IS NULL)", name="ck_org_ids_one_body"
        ),
        sa.UniqueConstraint("group_id", "value", name="uq_org_ids_group_value"),
        sa.UniqueConstraint("organisation_id", "value", name="uq_org_ids_organisation_value"),
    )
    op.create_index("ix_org_ids_value", "org_ids", ["value"])


def downgrade():
    """Drop org_ids."""
    op.drop_index("ix_org_ids_value", "org_ids")
    op.drop_table("org_ids")
