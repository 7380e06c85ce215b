"""Partners' intelligence: notes on wards, their replies, and ward subscriptions.

Revision ID: 0019
Revises: 0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the notes, their replies and the subscriptions."""
    op.create_geospatial_table(
        "ward_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.String(length=9), nullable=False),
        sa.Column("ward_name", sa.String(length=200), nullable=False),
        sa.Column("la_code", sa.String(length=9), nullable=True),
        sa.Column("la_name", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("visibility IN ('public', 'partners')", name="ck_ward_notes_visibility"),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="ck_ward_notes_status"),
        sa.CheckConstraint("length(trim(text)) > 0", name="ck_ward_notes_text_not_blank"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_ward_notes_geom",
        "ward_notes",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_ward_notes_ward_code", "ward_notes", ["ward_code"])
    op.create_index("ix_ward_notes_la_code", "ward_notes", ["la_code"])
    op.create_table(
        "ward_note_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "note_id",
            sa.Integer(),
            sa.ForeignKey("ward_notes.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(trim(text)) > 0", name="ck_ward_note_replies_text_not_blank"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ward_note_replies_note_id", "ward_note_replies", ["note_id"])
    op.create_table(
        "ward_subscriptions",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ward_code", sa.String(length=9), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "ward_code"),
    )
    op.create_index("ix_ward_subscriptions_ward_code", "ward_subscriptions", ["ward_code"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_ward_subscriptions_ward_code", table_name="ward_subscriptions")
    op.drop_table("ward_subscriptions")
    op.drop_index("ix_ward_note_replies_note_id", table_name="ward_note_replies")
    op.drop_table("ward_note_replies")
    op.drop_index("ix_ward_notes_la_code", table_name="ward_notes")
    op.drop_index("ix_ward_notes_ward_code", table_name="ward_notes")
    op.drop_geospatial_index(
        "idx_ward_notes_geom",
        table_name="ward_notes",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("ward_notes")
