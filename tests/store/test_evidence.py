"""The evidence tables (mapper.store.evidence): packed rows, constraints, the migration."""

from datetime import date

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mapper.store import db
from mapper.store.evidence import Snapshot, pack_rows, unpack_rows


def test_packed_rows_read_back_exactly_and_the_same_rows_pack_to_the_same_bytes():
    rows = [["E05000001", "Ynys Môn", 3, 0.125, None, ["food-support", "faith"], True]]
    packed = pack_rows(rows, [7])
    assert packed == pack_rows([list(r) for r in rows], [7])
    assert unpack_rows(packed) == (rows, [7])
    assert len(packed) < len(str(rows)) + 40


def test_a_row_holding_not_a_number_is_refused_rather_than_stored():
    with pytest.raises(ValueError, match="JSON"):
        pack_rows([[float("nan")]], [1])


@pytest.mark.parametrize(
    ("values", "constraint"),
    [({"kind": "guessed"}, "kind"), ({"label": "  "}, "label"), ({"ward_count": -1}, "count")],
)
def test_the_database_refuses_a_snapshot_that_breaks_its_rules(session, values, constraint):
    fields = {
        "label": "A",
        "kind": "manual",
        "reference_date": date(2026, 1, 1),
        "scope": "",
        "filtered": False,
        "method_version": "1.0",
        "boundary_vintage": "2024",
        "ward_count": 0,
        "columns": [],
        "details": {},
        "attribution": "",
        **values,
    }
    session.add(Snapshot(**fields))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_the_evidence_migration_goes_down_and_up_again(unmigrated_database_url):
    engine = db.make_engine(unmigrated_database_url)
    db.upgrade_schema(engine)
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0003")
    with engine.connect() as connection:
        tables = set(engine.dialect.get_table_names(connection))
    assert not tables & {"snapshots", "snapshot_parts", "snapshot_shapes", "decisions"}
    db.upgrade_schema(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO snapshots (label, kind, taken_at, reference_date, scope, filtered, "
                "method_version, boundary_vintage, ward_count, columns, details, attribution) "
                "VALUES ('A', 'manual', '2026-01-01', '2026-01-01', '', false, '1.0', '2024', "
                "0, '[]', '{}', '')"
            )
        )
    with pytest.raises(Exception, match="immutable"), engine.begin() as connection:
        connection.execute(text("UPDATE snapshots SET label = 'B'"))
    engine.dispose()
