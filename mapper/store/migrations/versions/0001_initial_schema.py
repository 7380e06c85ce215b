"""Initial schema: wards, organisations, users, groups, coordinators, services, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The default activity categories of SPEC, as they were when this migration was written.
DEFAULT_CATEGORIES = [
    ("food-support", "Food support"),
    ("older-people", "Older people"),
    ("children-young-people", "Children and young people"),
    ("mental-health-wellbeing", "Mental health and wellbeing"),
    ("physical-activity", "Physical activity"),
    ("arts-culture", "Arts and culture"),
    ("environment-green-space", "Environment and green space"),
    ("advice-money", "Advice and money"),
    ("digital-inclusion", "Digital inclusion"),
    ("faith", "Faith"),
    ("disability", "Disability"),
    ("carers", "Carers"),
    ("employment-skills", "Employment and skills"),
    ("social-befriending", "Social and befriending"),
    ("health", "Health"),
    ("volunteering", "Volunteering"),
]


def upgrade() -> None:
    """Create every table, constraint and spatial index; seed the categories."""
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.CheckConstraint("length(trim(name)) > 0", name="ck_categories_name_not_blank"),
        sa.CheckConstraint("length(trim(slug)) > 0", name="ck_categories_slug_not_blank"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=True),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(trim(name)) > 0", name="ck_organisations_name_not_blank"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "postcodes",
        sa.Column("postcode", sa.String(length=8), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("postcode"),
    )
    op.create_geospatial_table(
        "wards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("la_code", sa.String(length=9), nullable=True),
        sa.Column("la_name", sa.String(length=200), nullable=True),
        sa.Column("vintage", sa.String(length=20), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("area_km2", sa.Float(), nullable=False),
        sa.Column("imd_decile", sa.Integer(), nullable=True),
        sa.Column("imd_score", sa.Float(), nullable=True),
        sa.Column("imd_rank", sa.Float(), nullable=True),
        sa.Column("imd_share_10pct", sa.Float(), nullable=True),
        sa.Column("imd_share_20pct", sa.Float(), nullable=True),
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
        sa.Column(
            "label_point",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "imd_decile IS NULL OR imd_decile BETWEEN 1 AND 10", name="ck_wards_imd_decile"
        ),
        sa.CheckConstraint("length(trim(code)) > 0", name="ck_wards_code_not_blank"),
        sa.CheckConstraint("length(trim(name)) > 0", name="ck_wards_name_not_blank"),
        sa.CheckConstraint("length(trim(vintage)) > 0", name="ck_wards_vintage_not_blank"),
        sa.CheckConstraint("population IS NULL OR population >= 0", name="ck_wards_population"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", "vintage", name="uq_wards_code_vintage"),
    )
    op.create_geospatial_index(
        "idx_wards_geom",
        "wards",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_index(
        "idx_wards_label_point",
        "wards",
        ["label_point"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_wards_la_code", "wards", ["la_code"], unique=False)
    op.create_geospatial_table(
        "coordinators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("employer_id", sa.Integer(), nullable=True),
        sa.Column(
            "base",
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
        sa.Column(
            "patch",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="ck_coordinators_capacity"),
        sa.CheckConstraint("length(trim(name)) > 0", name="ck_coordinators_name_not_blank"),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_coordinators_base",
        "coordinators",
        ["base"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_index(
        "idx_coordinators_patch",
        "coordinators",
        ["patch"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_coordinators_external_id", "coordinators", ["external_id"], unique=False)
    op.create_geospatial_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("provider", sa.String(length=300), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("ward_id", sa.Integer(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "service_area",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("delivery", sa.String(length=100), nullable=True),
        sa.Column("opening_hours", sa.Text(), nullable=True),
        sa.Column("eligibility", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("contact_public", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'inactive', 'closed')", name="ck_services_status"
        ),
        sa.CheckConstraint("length(trim(name)) > 0", name="ck_services_name_not_blank"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ward_id"],
            ["wards.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_services_geom",
        "services",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_index(
        "idx_services_service_area",
        "services",
        ["service_area"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_services_external_id", "services", ["external_id"], unique=False)
    op.create_index("ix_services_ward_status", "services", ["ward_id", "status"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'editor')", name="ck_users_role"),
        sa.CheckConstraint("length(trim(email)) > 0", name="ck_users_email_not_blank"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint("length(trim(action)) > 0", name="ck_audit_events_action_not_blank"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_audit_events_entity", "audit_events", ["entity_type", "entity_id"], unique=False
    )
    op.create_geospatial_table(
        "community_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=60), nullable=True),
        sa.Column("charity_number", sa.String(length=20), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("contact_public", sa.String(length=300), nullable=True),
        sa.Column("meeting_times", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("ward_id", sa.Integer(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("last_verified", sa.Date(), nullable=True),
        sa.Column("active_from", sa.Date(), nullable=True),
        sa.Column("active_until", sa.Date(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'inactive', 'closed')",
            name="ck_community_groups_status",
        ),
        sa.CheckConstraint("length(trim(name)) > 0", name="ck_community_groups_name_not_blank"),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ward_id"],
            ["wards.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_community_groups_geom",
        "community_groups",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_community_groups_external_id", "community_groups", ["external_id"], unique=False
    )
    op.create_index(
        "ix_community_groups_ward_status", "community_groups", ["ward_id", "status"], unique=False
    )
    op.create_table(
        "service_categories",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("service_id", "category_id"),
    )
    op.create_table(
        "group_categories",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["group_id"], ["community_groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "category_id"),
    )
    op.create_table(
        "group_wards_served",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["community_groups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ward_id"], ["wards.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "ward_id"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["community_groups.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
    )
    op.create_table(
        "pending_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name="ck_pending_changes_status"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["group_id"], ["community_groups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_pending_changes_group_id"), "pending_changes", ["group_id"], unique=False
    )

    categories = sa.table("categories", sa.column("slug"), sa.column("name"))
    op.bulk_insert(categories, [{"slug": slug, "name": name} for slug, name in DEFAULT_CATEGORIES])


def downgrade() -> None:
    """Drop every table."""
    op.drop_index(op.f("ix_pending_changes_group_id"), table_name="pending_changes")
    op.drop_table("pending_changes")
    op.drop_table("idempotency_keys")
    op.drop_table("group_wards_served")
    op.drop_table("group_categories")
    op.drop_table("service_categories")
    op.drop_index("ix_community_groups_ward_status", table_name="community_groups")
    op.drop_index("ix_community_groups_external_id", table_name="community_groups")
    op.drop_geospatial_index(
        "idx_community_groups_geom",
        table_name="community_groups",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("community_groups")
    op.drop_index("ix_audit_events_entity", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_index("ix_services_ward_status", table_name="services")
    op.drop_index("ix_services_external_id", table_name="services")
    op.drop_geospatial_index(
        "idx_services_service_area",
        table_name="services",
        postgresql_using="gist",
        column_name="service_area",
    )
    op.drop_geospatial_index(
        "idx_services_geom", table_name="services", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("services")
    op.drop_index("ix_coordinators_external_id", table_name="coordinators")
    op.drop_geospatial_index(
        "idx_coordinators_patch",
        table_name="coordinators",
        postgresql_using="gist",
        column_name="patch",
    )
    op.drop_geospatial_index(
        "idx_coordinators_base",
        table_name="coordinators",
        postgresql_using="gist",
        column_name="base",
    )
    op.drop_geospatial_table("coordinators")
    op.drop_index("ix_wards_la_code", table_name="wards")
    op.drop_geospatial_index(
        "idx_wards_label_point",
        table_name="wards",
        postgresql_using="gist",
        column_name="label_point",
    )
    op.drop_geospatial_index(
        "idx_wards_geom", table_name="wards", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("wards")
    op.drop_table("postcodes")
    op.drop_table("organisations")
    op.drop_table("categories")
