"""A service's place name: the name of the building or venue it is at (not its address).

Open Referral UK feeds name each location ("MyCity Civic Center"); the import keeps it and
our feed publishes it as the location's `name`.

Revision ID: 0022
Revises: 0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    """Add services.place_name."""
    op.add_column("services", sa.Column("place_name", sa.String(300), nullable=True))


def downgrade():
    """Drop services.place_name."""
    op.drop_column("services", "place_name")
