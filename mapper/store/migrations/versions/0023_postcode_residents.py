"""A postcode's residents: the population figure of a postcode directory that has one.

Reach weights each postcode by it; NULL (a directory without the column) counts one.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    """Add postcodes.residents."""
    op.add_column("postcodes", sa.Column("residents", sa.Float, nullable=True))


def downgrade():
    """Drop postcodes.residents."""
    op.drop_column("postcodes", "residents")
