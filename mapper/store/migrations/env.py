"""Alembic environment: runs on the connection that `mapper.store.db.upgrade_schema` hands over."""

from alembic import context
from geoalchemy2 import alembic_helpers

from mapper.store import evidence, mail, notes  # noqa: F401 - their tables are part of the schema
from mapper.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=alembic_helpers.include_object,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
