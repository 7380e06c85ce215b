"""The notes' tables (mapper.store.notes): the database's own rules, and migration 0019
going down and up again."""

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mapper.store import db
from mapper.store.notes import WardNote

NOTE = {"ward_code": "E05000001", "ward_name": "East Ward", "text": "New estate"}


@pytest.mark.parametrize(
    "values",
    [{"text": "   "}, {"visibility": "everyone"}, {"status": "done"}],
)
def test_the_database_refuses_a_note_that_breaks_its_rules(session, values):
    session.add(WardNote(**{**NOTE, **values}, categories=[]))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_the_notes_migration_goes_down_and_up_again(unmigrated_database_url):
    engine = db.make_engine(unmigrated_database_url)
    db.upgrade_schema(engine)
    notes_tables = {"ward_notes", "ward_note_replies", "ward_subscriptions"}
    with engine.begin() as connection:
        assert notes_tables <= set(engine.dialect.get_table_names(connection))
        command.downgrade(db.alembic_config(connection), "0012")
    with engine.connect() as connection:
        assert not notes_tables & set(engine.dialect.get_table_names(connection))
    db.upgrade_schema(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ward_notes (ward_code, ward_name, text, categories, visibility, "
                "status, created_at, updated_at) VALUES ('E05000001', 'East', 'A note', '[]', "
                "'partners', 'open', '2026-01-01', '2026-01-01')"
            )
        )
    engine.dispose()
