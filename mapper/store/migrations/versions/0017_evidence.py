"""Evidence: immutable snapshots of the gap analysis, their shapes, and the decision log.

Revision ID: 0017
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0017"
down_revision = "0003"
branch_labels = None
depends_on = None

IMMUTABLE = ("snapshots", "snapshot_parts", "snapshot_shapes")


def _check(column, values, name):
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


def _not_blank(column, name):
    return sa.CheckConstraint(f"length(trim({column})) > 0", name=name)


def upgrade() -> None:
    """Create the snapshot and decision tables; make snapshots refuse every UPDATE."""
    op.create_geospatial_table(
        "snapshot_shapes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_geospatial_index(
        "idx_snapshot_shapes_geom",
        "snapshot_shapes",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("filtered", sa.Boolean(), nullable=False),
        sa.Column("method_version", sa.String(length=20), nullable=False),
        sa.Column("boundary_vintage", sa.String(length=200), nullable=False),
        sa.Column("ward_count", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("attribution", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        _not_blank("label", "ck_snapshots_label_not_blank"),
        _check("kind", ("manual", "scheduled", "reconstructed"), "ck_snapshots_kind"),
        sa.CheckConstraint("ward_count >= 0", name="ck_snapshots_ward_count"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_snapshots_reference_date", "snapshots", ["reference_date"])
    op.create_table(
        "snapshot_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "snapshot_id",
            sa.Integer(),
            sa.ForeignKey("snapshots.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("la_code", sa.String(length=9), nullable=False),
        sa.Column("la_name", sa.String(length=200), nullable=True),
        sa.Column("ward_count", sa.Integer(), nullable=False),
        sa.Column("rows", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("ward_count > 0", name="ck_snapshot_parts_ward_count"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("snapshot_id", "la_code", name="uq_snapshot_parts_snapshot_la"),
    )
    op.create_index("ix_snapshot_parts_la_code", "snapshot_parts", ["la_code"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column(
            "organisation_id", sa.Integer(), sa.ForeignKey("organisations.id"), nullable=True
        ),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=False),
        sa.Column(
            "snapshot_id",
            sa.Integer(),
            sa.ForeignKey("snapshots.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("la_code", sa.String(length=9), nullable=False),
        sa.Column("la_name", sa.String(length=200), nullable=True),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _check("action", ("invest", "devolve", "monitor"), "ck_decisions_action"),
        _check("status", ("proposed", "agreed", "rejected"), "ck_decisions_status"),
        _check("visibility", ("public", "partners"), "ck_decisions_visibility"),
        _not_blank("summary", "ck_decisions_summary_not_blank"),
        _not_blank("decided_by", "ck_decisions_decided_by_not_blank"),
        sa.CheckConstraint("review_on >= decided_on", name="ck_decisions_review_after_decision"),
        sa.CheckConstraint(
            "action != 'devolve' OR organisation_id IS NOT NULL",
            name="ck_decisions_devolve_to_organisation",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_decisions_la_code", "decisions", ["la_code"])
    op.create_table(
        "decision_wards",
        sa.Column(
            "decision_id",
            sa.Integer(),
            sa.ForeignKey("decisions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ward_code", sa.String(length=9), nullable=False),
        sa.Column("ward_name", sa.String(length=200), nullable=False),
        sa.Column("shape_id", sa.Integer(), sa.ForeignKey("snapshot_shapes.id"), nullable=True),
        sa.PrimaryKeyConstraint("decision_id", "ward_code"),
    )
    op.create_index("ix_decision_wards_ward_code", "decision_wards", ["ward_code"])
    # Changes between two dates carry figures across boundary changes by postcodes found in
    # a box: an index on longitude keeps that a narrow scan of the postcode directory.
    op.create_index("ix_postcodes_lon_lat", "postcodes", ["lon", "lat"])
    _refuse_updates()


def _refuse_updates():
    """Let the database itself refuse to change a stored snapshot."""
    if op.get_bind().dialect.name == "sqlite":
        for table in IMMUTABLE:
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} are immutable'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION mapper_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% are immutable', TG_TABLE_NAME; END $$"
    )
    for table in IMMUTABLE:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION mapper_refuse_update()"
        )


def downgrade() -> None:
    """Remove what upgrade added."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in IMMUTABLE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable" + ("" if sqlite else f" ON {table}"))
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS mapper_refuse_update()")
    op.drop_index("ix_postcodes_lon_lat", table_name="postcodes")
    op.drop_index("ix_decision_wards_ward_code", table_name="decision_wards")
    op.drop_table("decision_wards")
    op.drop_index("ix_decisions_la_code", table_name="decisions")
    op.drop_table("decisions")
    op.drop_index("ix_snapshot_parts_la_code", table_name="snapshot_parts")
    op.drop_table("snapshot_parts")
    op.drop_index("ix_snapshots_reference_date", table_name="snapshots")
    op.drop_table("snapshots")
    op.drop_geospatial_index(
        "idx_snapshot_shapes_geom",
        table_name="snapshot_shapes",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("snapshot_shapes")
