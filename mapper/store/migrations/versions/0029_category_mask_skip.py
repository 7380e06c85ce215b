"""The category-mask triggers (0012) leave alone a group whose mask has the bit already.

A bulk import sets each new group's `category_mask` as it inserts the group, then its
category links: the insert triggers would rewrite every one of those rows (and its covering
index entry) to the same value. Setting a bit that is set changes nothing, so every other
writer keeps the masks exactly as before.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

BIT_LIMIT = 62


def _sqlite_trigger(unless_set):
    skip = " AND category_mask & (1 << NEW.category_id) = 0" if unless_set else ""
    return f"""CREATE TRIGGER group_categories_mask_insert AFTER INSERT ON group_categories
    WHEN NEW.category_id BETWEEN 1 AND {BIT_LIMIT}
    BEGIN
        UPDATE community_groups SET category_mask = category_mask | (1 << NEW.category_id)
        WHERE id = NEW.group_id{skip};
    END"""


def _postgres_function(unless_set):
    skip = " AND g.category_mask & changed.bits <> changed.bits" if unless_set else ""
    return f"""CREATE OR REPLACE FUNCTION group_categories_mask_added() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE community_groups AS g SET category_mask = g.category_mask | changed.bits
        FROM (
            SELECT group_id, bit_or(1::bigint << category_id) AS bits FROM added
            WHERE category_id BETWEEN 1 AND {BIT_LIMIT} GROUP BY group_id
        ) AS changed
        WHERE g.id = changed.group_id{skip};
        RETURN NULL;
    END $$"""


def _replace(unless_set):
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER group_categories_mask_insert")
        op.execute(_sqlite_trigger(unless_set))
    else:
        op.execute(_postgres_function(unless_set))


def upgrade() -> None:
    """Skip the groups whose mask has the new links' bits already."""
    _replace(unless_set=True)


def downgrade() -> None:
    """Put back 0012's insert trigger."""
    _replace(unless_set=False)
