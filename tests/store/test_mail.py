"""The mail tables: their migration goes down and up, and their constraints hold."""

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mapper.store import db
from mapper.store.mail import AccessLink
from mapper.store.models import utcnow

TABLES = {"outbox_mails", "access_links", "mail_preferences"}


def test_the_mail_migration_goes_down_and_up_again(unmigrated_database_url):
    engine = db.make_engine(unmigrated_database_url)
    db.upgrade_schema(engine)
    with engine.connect() as connection:
        assert set(engine.dialect.get_table_names(connection)) >= TABLES
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0017")
    with engine.connect() as connection:
        assert not TABLES & set(engine.dialect.get_table_names(connection))
    db.upgrade_schema(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM access_links")).scalar() == 0
    engine.dispose()


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"purpose": "backdoor"}, "ck_access_links_purpose"),
        ({"role": "owner"}, "ck_access_links_role"),
    ],
)
def test_the_database_refuses_a_link_that_breaks_its_rules(session, values, constraint):
    link = AccessLink(
        purpose="invitation", token_hash="0" * 64, email="a@example.org", expires_at=utcnow()
    )
    for key, value in values.items():
        setattr(link, key, value)
    session.add(link)
    with pytest.raises(IntegrityError, match=constraint):
        session.flush()
    session.rollback()


def test_two_links_cannot_share_a_hash(session):
    for _ in range(2):
        session.add(
            AccessLink(
                purpose="reset", token_hash="1" * 64, email="a@example.org", expires_at=utcnow()
            )
        )
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
