"""What changed: the groups that started, closed or changed since a date, from the audit trail.

Each entry is one audit event of a group that was public (active) before or after it: it
was added to the map (created active, approved, or imported active), reopened, closed, or
its public details changed while it was active. Pending and rejected groups never appear,
nor who made the change. Entries say which fields changed, never their values; the location
fields of a group whose location is generalised or hidden are never mentioned (issue 18).
A group is placed by its current ward. Method: docs/whats-changed.md.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import select

from mapper.errors import BadRequest
from mapper.store.models import AuditEvent, CommunityGroup, Ward

GROUPS = CommunityGroup.__tablename__
DEFAULT_DAYS = 28  # without `since`: the last four weeks, about the time between meetings
# The public fields an entry may name, in the words people use; any other field is left out.
FIELD_WORDS = {
    "name": "name",
    "description": "description",
    "kind": "kind",
    "categories": "categories",
    "website": "website",
    "contact": "public contact",
    "meeting_times": "meeting times",
    "charity_number": "charity number",
    "org_ids": "organisation identifiers",
    "wards_served": "wards served",
    "address": "address",
    "postcode": "postcode",
    "lonlat": "location",
}
LOCATION_FIELDS = ("address", "postcode", "lonlat")
EDITS = ("update", "approve_change")


class Entry(NamedTuple):
    """One change of a public group: its event id (stable), when, what ("started", "closed",
    "reopened", "changed"), the words, and the group (its id, name, status, ward)."""

    event_id: int
    at: datetime
    change: str
    words: str
    group_id: int
    group_name: str
    group_status: str
    ward_code: str | None
    ward_name: str | None
    la_code: str | None
    la_name: str | None


def default_since(today=None):
    """Return the first day shown when no `since` is given: four weeks ago."""
    return (today or datetime.now(UTC).date()) - timedelta(days=DEFAULT_DAYS)


def check_since(since, today=None):
    """Refuse a `since` after today: a 400 naming it."""
    today = today or datetime.now(UTC).date()
    if since > today:
        reason = f"{since.isoformat()} is after today ({today.isoformat()})"
        raise BadRequest(f"Parameter 'since': {reason}", fields={"since": reason})


def _aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def changes_since(session, since: date, la_codes=(), ward_codes=()):
    """Return the Entries of public groups since the day `since` (UTC, included), newest
    first, of groups now in these local authorities or wards (any, when none given)."""
    start = datetime.combine(since, time(), UTC)
    touched = (
        select(AuditEvent.entity_id)
        .where(AuditEvent.entity_type == GROUPS)
        .where(AuditEvent.at >= start)
    )
    query = (
        select(AuditEvent, CommunityGroup, Ward)
        .join(CommunityGroup, CommunityGroup.id == AuditEvent.entity_id)
        .outerjoin(Ward, Ward.id == CommunityGroup.ward_id)
        .where(AuditEvent.entity_type == GROUPS)
        .where(AuditEvent.entity_id.in_(touched))
        .order_by(AuditEvent.entity_id, AuditEvent.at, AuditEvent.id)
    )
    if la_codes:
        query = query.where(Ward.la_code.in_(list(la_codes)))
    if ward_codes:
        query = query.where(Ward.code.in_(list(ward_codes)))
    history = {}
    for event, group, ward in session.execute(query):
        history.setdefault(group.id, (group, ward, []))[2].append(event)
    entries = [
        entry
        for group, ward, events in history.values()
        for entry in _entries(group, ward, events)
        if entry.at >= start
    ]
    return sorted(entries, key=lambda e: (e.at, e.event_id), reverse=True)


def _status_before(event, after):
    """Return the group's status before `event`, given the one after it."""
    if event.action == "create":
        return None
    change = (event.changes or {}).get("status")
    if isinstance(change, dict):
        return change.get("from")
    if change is not None:  # an import retiring a record: {"source": "import", "status": ...}
        return "active"  # core.records.retire_missing closes active records only
    return after


def _statuses(group, events):
    """Return the group's status after each of its events, replayed back from its status now
    (an import's update records no status it may have set: the status is taken as kept)."""
    after = [None] * len(events)
    status = group.status
    for index in range(len(events) - 1, -1, -1):
        after[index] = status
        status = _status_before(events[index], status)
    return after


def _entries(group, ward, events):
    statuses = _statuses(group, events)
    before = None
    for event, after in zip(events, statuses, strict=True):
        found = _describe(group, event, before, after)
        before = after
        if found is None:
            continue
        change, words = found
        yield Entry(
            event.id,
            _aware(event.at),
            change,
            words,
            group.id,
            group.name,
            group.status,
            ward.code if ward else None,
            ward.name if ward else None,
            ward.la_code if ward else None,
            ward.la_name if ward else None,
        )


def _describe(group, event, before, after):
    """Return (change, words) of an event that a public reader may see, else None."""
    if before != "active" and after == "active":
        if event.action == "reopen":
            return "reopened", f"{group.name} reopened."
        return "started", f"{group.name} was added to the map."
    if before == "active" and after != "active":
        words = "closed" if after == "closed" else "is no longer active"
        return "closed", f"{group.name} {words}."
    if before == after == "active" and event.action in EDITS:
        fields = _public_fields(group, event.changes or {})
        if fields is None:
            return None
        if not fields:
            return "changed", f"{group.name}: details updated."
        return "changed", f"{group.name} changed its {_listed(fields)}."
    return None


def _public_fields(group, changes):
    """Return the words of the public fields changed, [] for an import (which names none),
    None when nothing a reader may be told of changed."""
    if changes.get("source") == "import":
        return []
    hidden = (group.location_precision or "exact") != "exact"
    words = [
        FIELD_WORDS[field]
        for field in FIELD_WORDS
        if field in changes and not (hidden and field in LOCATION_FIELDS)
    ]
    return words or None


def _listed(words):
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


class EntryPage(NamedTuple):
    """A page of entries, how many in all, the page and the page count."""

    entries: list
    total: int
    page: int
    page_count: int


def paged(entries, page, per_page):
    """Return one page (1-based, clamped) of the entries."""
    page_count = max(1, -(-len(entries) // per_page))
    page = min(max(1, page), page_count)
    start = (page - 1) * per_page
    return EntryPage(entries[start : start + per_page], len(entries), page, page_count)
