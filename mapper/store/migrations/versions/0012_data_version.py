"""The data version, and each group's categories as a bit mask for the gap analysis.

`data_version` is one row that every write and import bumps (ETags and caches are keyed by
it). `community_groups.category_mask` has bit `category_id` set for each category of the
group with an id from 1 to 62 (BIT_LIMIT), kept by triggers on group_categories, so that
the analysis finds the categories present in a ward in the same pass that counts its
groups; the covering index of that count carries it.

Revision ID: 0012
Revises: 0017
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BIT_LIMIT = 62
COUNT_INDEX = "ix_community_groups_ward_counts"
COUNT_COLUMNS = ["ward_id", "status", "last_verified", "kind"]

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER group_categories_mask_insert AFTER INSERT ON group_categories
    WHEN NEW.category_id BETWEEN 1 AND {BIT_LIMIT}
    BEGIN
        UPDATE community_groups SET category_mask = category_mask | (1 << NEW.category_id)
        WHERE id = NEW.group_id;
    END""",
    f"""CREATE TRIGGER group_categories_mask_delete AFTER DELETE ON group_categories
    WHEN OLD.category_id BETWEEN 1 AND {BIT_LIMIT}
    BEGIN
        UPDATE community_groups SET category_mask = category_mask & ~(1 << OLD.category_id)
        WHERE id = OLD.group_id;
    END""",
]


def _postgres_function(name, links, operation):
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE community_groups AS g SET category_mask = {operation}
        FROM (
            SELECT group_id, bit_or(1::bigint << category_id) AS bits FROM {links}
            WHERE category_id BETWEEN 1 AND {BIT_LIMIT} GROUP BY group_id
        ) AS changed
        WHERE g.id = changed.group_id;
        RETURN NULL;
    END $$"""


# Statement triggers with transition tables: one UPDATE per INSERT or DELETE statement.
POSTGRES_TRIGGERS = [
    _postgres_function("group_categories_mask_added", "added", "g.category_mask | changed.bits"),
    _postgres_function(
        "group_categories_mask_removed", "removed", "g.category_mask & ~changed.bits"
    ),
    """CREATE TRIGGER group_categories_mask_insert AFTER INSERT ON group_categories
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION group_categories_mask_added()""",
    """CREATE TRIGGER group_categories_mask_delete AFTER DELETE ON group_categories
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION group_categories_mask_removed()""",
]


def upgrade() -> None:
    """Create data_version (at version 1); add, fill and index the groups' category masks."""
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("id = 1", name="ck_data_version_one_row"),
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 1)")

    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "community_groups",
        sa.Column("category_mask", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.execute(
        "UPDATE community_groups SET category_mask = coalesce(("
        "SELECT sum(1 << category_id) FROM group_categories "
        "WHERE group_id = community_groups.id "
        f"AND category_id BETWEEN 1 AND {BIT_LIMIT}), 0)"
        if sqlite
        else "UPDATE community_groups SET category_mask = coalesce(("
        "SELECT sum(1::bigint << category_id) FROM group_categories "
        "WHERE group_id = community_groups.id "
        f"AND category_id BETWEEN 1 AND {BIT_LIMIT}), 0)"
    )
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES_TRIGGERS:
        op.execute(statement)
    op.drop_index(COUNT_INDEX, table_name="community_groups")
    op.create_index(COUNT_INDEX, "community_groups", [*COUNT_COLUMNS, "category_mask"])


def downgrade() -> None:
    """Remove what upgrade added."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index(COUNT_INDEX, table_name="community_groups")
    op.create_index(COUNT_INDEX, "community_groups", COUNT_COLUMNS)
    on = "" if sqlite else " ON group_categories"
    op.execute(f"DROP TRIGGER group_categories_mask_insert{on}")
    op.execute(f"DROP TRIGGER group_categories_mask_delete{on}")
    if not sqlite:
        op.execute("DROP FUNCTION group_categories_mask_added()")
        op.execute("DROP FUNCTION group_categories_mask_removed()")
    op.drop_column("community_groups", "category_mask")
    op.drop_table("data_version")
