"""The audit trail read back: filters by who, action, record and dates, newest first, paged."""

from datetime import UTC, date, datetime

from mapper.core import audit, users
from mapper.store.models import AuditEvent
from tests.factories import make_user


def test_events_are_filtered_by_who_action_record_and_dates(session):
    admin = make_user(session, "admin@council.example", "admin", "Council", True)
    ed = make_user(session, "ed@lio.example", organisation="Small LIO")
    users.change_user(session, admin, ed, role="admin")
    users.deactivate_user(session, None, ed)  # from the command line: no user
    old = AuditEvent(
        action="create",
        entity_type="users",
        entity_id=ed.id,
        at=datetime(2025, 3, 1, 23, 30, tzinfo=UTC),
    )
    session.add(old)
    session.commit()
    everything = audit.find_events(session)
    assert everything.total == 3
    assert [e.action for e in everything.events] == ["deactivate", "change", "create"]
    assert [e.action for e in audit.find_events(session, who=admin.id).events] == ["change"]
    assert [e.action for e in audit.find_events(session, who=0).events] == ["deactivate", "create"]
    assert audit.find_events(session, action="change").total == 1
    assert audit.find_events(session, entity_type="users", entity_id=ed.id).total == 3
    assert audit.find_events(session, entity_type="organisations").total == 0
    day = date(2025, 3, 1)
    assert [e.id for e in audit.find_events(session, since=day, until=day).events] == [old.id]
    assert audit.find_events(session, until=date(2025, 2, 28)).total == 0
    assert audit.find_events(session, since=date(2025, 3, 2)).total == 2
    assert audit.actions(session) == ["change", "create", "deactivate"]
    assert audit.entity_types(session) == ["users"]
    pages = [audit.find_events(session, page=p, per_page=2) for p in (1, 2)]
    assert [len(p.events) for p in pages] == [2, 1] and pages[0].page_count == 2
