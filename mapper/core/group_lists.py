"""The editors' and admins' lists of groups: search, filters, sorting and pages.

Editors see their own organisation's groups; admins every group. A page is one query for the
rows and one for the count, so a list of thousands of groups costs what a page of them does.
"""

from typing import NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from mapper.core.groups import STALE_AFTER, today
from mapper.io.identifiers import normalise_org_id
from mapper.store.models import (
    Category,
    CommunityGroup,
    Organisation,
    PendingChange,
    Ward,
    group_categories,
)
from mapper.store.queries import with_org_id

PER_PAGE = 50

SORTS = {
    "name": (CommunityGroup.name, CommunityGroup.id),
    "status": (CommunityGroup.status, CommunityGroup.name, CommunityGroup.id),
    "ward": (Ward.name, CommunityGroup.name, CommunityGroup.id),
    "checked": (
        CommunityGroup.last_verified.is_not(None),
        CommunityGroup.last_verified,
        CommunityGroup.name,
    ),
    "updated": (CommunityGroup.updated_at.desc(), CommunityGroup.id.desc()),
    "oldest": (CommunityGroup.created_at, CommunityGroup.id),
}


class Page(NamedTuple):
    """One page of a list: its groups, how many match in all, the page and page count."""

    groups: list
    total: int
    page: int
    page_count: int


def _matching(user, q="", statuses=(), category="", ward="", organisation=None, stale=False):
    """Return the WHERE clauses of a list's search and filters."""
    clauses = []
    if user.role != "admin":
        clauses.append(CommunityGroup.organisation_id == user.organisation_id)
    elif organisation:
        clauses.append(CommunityGroup.organisation_id == organisation)
    if statuses:
        clauses.append(CommunityGroup.status.in_(statuses))
    if q:
        like = f"%{q.strip().lower()}%"
        org_id, _ = normalise_org_id(q)
        clauses.append(
            or_(
                func.lower(CommunityGroup.name).like(like),
                func.replace(func.lower(CommunityGroup.postcode), " ", "").like(
                    like.replace(" ", "")
                ),
                CommunityGroup.ward_id.in_(select(Ward.id).where(func.lower(Ward.name).like(like))),
                *([with_org_id(org_id)] if org_id else []),
            )
        )
    if category:
        clauses.append(
            CommunityGroup.id.in_(
                select(group_categories.c.group_id)
                .join(Category, Category.id == group_categories.c.category_id)
                .where(Category.slug == category)
            )
        )
    if ward:
        clauses.append(CommunityGroup.ward_id.in_(select(Ward.id).where(Ward.code == ward)))
    if stale:
        cutoff = today() - STALE_AFTER
        clauses.append(CommunityGroup.status.in_(("active", "inactive")))
        clauses.append(
            or_(CommunityGroup.last_verified.is_(None), CommunityGroup.last_verified < cutoff)
        )
    return clauses


def find_groups(session, user, sort="name", page=1, per_page=PER_PAGE, **filters):
    """Return a Page of the groups the user may edit that match the search and filters.

    Filters: `q` (in the name, postcode or ward name, or an org-id the group carries),
    `statuses`, `category` (a slug), `ward` (a code), `organisation` (an id; admins only) and
    `stale` (not checked in 12 months).
    """
    clauses = _matching(user, **filters)
    total = session.scalar(select(func.count(CommunityGroup.id)).where(*clauses))
    page_count = max(1, -(-total // per_page))
    page = min(max(1, page), page_count)
    query = (
        select(CommunityGroup)
        .outerjoin(Ward, Ward.id == CommunityGroup.ward_id)
        .where(*clauses)
        .order_by(*SORTS.get(sort, SORTS["name"]))
        .options(
            selectinload(CommunityGroup.ward),
            selectinload(CommunityGroup.categories),
            selectinload(CommunityGroup.identifiers),
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(list(session.scalars(query)), total, page, page_count)


def groups_by_id(session, user, ids):
    """Return the groups with these ids that the user may see in a list, in id order."""
    clauses = _matching(user)
    query = select(CommunityGroup).where(CommunityGroup.id.in_(ids), *clauses)
    return list(session.scalars(query.order_by(CommunityGroup.id)))


def pending_changes_of(session, group_ids):
    """Return {group id: [pending changes]} for these groups, oldest first."""
    query = (
        select(PendingChange)
        .where(PendingChange.status == "pending", PendingChange.group_id.in_(group_ids))
        .order_by(PendingChange.created_at, PendingChange.id)
    )
    found = {}
    for change in session.scalars(query):
        found.setdefault(change.group_id, []).append(change)
    return found


def organisations(session):
    """Return (id, name) of every organisation, by name, for an admin's filter."""
    return session.execute(
        select(Organisation.id, Organisation.name).order_by(Organisation.name)
    ).all()
