"""The audit trail: who changed which record, when, and what changed."""

from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import func, select

from mapper.store.models import AuditEvent


def record(session, action, entity, user=None, changes=None, reason=None):
    """Add an audit event for `entity`, which must already have an id."""
    session.add(
        AuditEvent(
            action=action,
            entity_type=entity.__tablename__,
            entity_id=entity.id,
            user_id=user.id if user else None,
            changes=changes,
            reason=reason,
        )
    )


def history(session, entity):
    """Return the audit events of a record, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == entity.__tablename__)
            .where(AuditEvent.entity_id == entity.id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )


def group_history(session, group):
    """Return the audit events of a group, oldest first."""
    return history(session, group)


PER_PAGE = 50


class EventPage(NamedTuple):
    """One page of audit events: the events, how many match in all, the page and page count."""

    events: list
    total: int
    page: int
    page_count: int


def actions(session):
    """Return every action recorded so far, for the audit page's filter."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def entity_types(session):
    """Return every kind of record the audit names, for the audit page's filter."""
    query = select(AuditEvent.entity_type).distinct().order_by(AuditEvent.entity_type)
    return list(session.scalars(query))


def find_events(
    session,
    who=None,
    action="",
    entity_type="",
    entity_id=None,
    since=None,
    until=None,
    page=1,
    per_page=PER_PAGE,
):
    """Return a page of audit events, newest first, by who (a user id, or 0 for the commands
    and imports), action, record (kind, and id) and date range (`since` and `until` are dates,
    both days included, in UTC)."""
    clauses = []
    if who == 0:
        clauses.append(AuditEvent.user_id.is_(None))
    elif who is not None:
        clauses.append(AuditEvent.user_id == who)
    if action:
        clauses.append(AuditEvent.action == action)
    if entity_type:
        clauses.append(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        clauses.append(AuditEvent.entity_id == entity_id)
    if since:
        clauses.append(AuditEvent.at >= datetime.combine(since, time(), UTC))
    if until:
        clauses.append(AuditEvent.at < datetime.combine(until + timedelta(days=1), time(), UTC))
    total = session.scalar(select(func.count(AuditEvent.id)).where(*clauses))
    page_count = max(1, -(-total // per_page))
    page = min(max(1, page), page_count)
    events = session.scalars(
        select(AuditEvent)
        .where(*clauses)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return EventPage(list(events), total, page, page_count)
