"""An outbox message's Reply-To: a reader's own address on their note about a group.

Personal data, like `to_address`: it is used to answer the reader and shown nowhere.

Revision ID: 0027
Revises: 0024
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    """Add outbox_mails.reply_to."""
    op.add_column("outbox_mails", sa.Column("reply_to", sa.String(254), nullable=True))


def downgrade():
    """Drop outbox_mails.reply_to."""
    op.drop_column("outbox_mails", "reply_to")
