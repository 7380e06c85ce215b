"""Organisations as admins manage them: their trusted flag, their users and groups, moving
groups from one to another, and telling a new organisation's name from one confusingly close
to a name already stored ("Eastmere CVS" beside "Eastmere CVS (fictional)")."""

import difflib
import re
from typing import NamedTuple

from sqlalchemy import func, select

from mapper.core import audit
from mapper.errors import Invalid, NotFound
from mapper.io.identifiers import parse_org_ids
from mapper.store import db
from mapper.store.models import CommunityGroup, Organisation, User

# A ratio of difflib's SequenceMatcher over the simplified names at or above which two names
# are too close to tell apart at a glance ("Eastmere CVS" / "Eastmere C.V.S." / "Eastmre CVS").
CLOSE_RATIO = 0.85

# Words that do not tell two organisations apart.
FILLER = {"the", "ltd", "limited", "cic", "inc", "and", "of"}


class Summary(NamedTuple):
    """An organisation with how many users and groups it has."""

    organisation: Organisation
    users: int
    groups: int


def summaries(session):
    """Return every organisation by name, with its counts of users and groups."""
    users = (
        select(User.organisation_id, func.count(User.id).label("n"))
        .group_by(User.organisation_id)
        .subquery()
    )
    groups = (
        select(CommunityGroup.organisation_id, func.count(CommunityGroup.id).label("n"))
        .group_by(CommunityGroup.organisation_id)
        .subquery()
    )
    rows = session.execute(
        select(Organisation, func.coalesce(users.c.n, 0), func.coalesce(groups.c.n, 0))
        .outerjoin(users, users.c.organisation_id == Organisation.id)
        .outerjoin(groups, groups.c.organisation_id == Organisation.id)
        .order_by(Organisation.name, Organisation.id)
    )
    return [Summary(*row) for row in rows]


def get_organisation(session, organisation_id):
    """Return the organisation with this id; NotFound when there is none."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"There is no organisation {organisation_id}.")
    return organisation


def users_of(session, organisation):
    """Return the users of an organisation, by email."""
    query = select(User).where(User.organisation_id == organisation.id).order_by(User.email)
    return list(session.scalars(query))


def set_trusted(session, admin, organisation, trusted):
    """Mark an organisation trusted (its groups need no approval) or not; audited."""
    trusted = bool(trusted)
    if organisation.trusted == trusted:
        return False
    with db.transaction(session):
        changes = {"trusted": {"from": organisation.trusted, "to": trusted}}
        organisation.trusted = trusted
        audit.record(session, "change", organisation, user=admin, changes=changes)
    return True


def set_org_ids(session, admin, organisation, org_ids):
    """Set an organisation's org-ids (a list, or text separated by `;`); audited.

    Raises Invalid naming `org_ids` and the bad value. Returns whether anything changed.
    """
    values, reason = parse_org_ids(org_ids)
    if reason:
        raise Invalid(f"Org-ids: {reason}.", fields={"org_ids": reason})
    if values == organisation.org_ids:
        return False
    with db.transaction(session):
        changes = {"org_ids": {"from": organisation.org_ids, "to": values}}
        organisation.org_ids = values
        audit.record(session, "change", organisation, user=admin, changes=changes)
    return True


def move_groups(session, admin, group_ids, target_id):
    """Move groups to another organisation, all of them or none; return how many moved."""
    target = session.get(Organisation, target_id) if target_id else None
    if target is None:
        raise Invalid("Choose the organisation to move them to.", {"target": "choose one"})
    ids = sorted({int(i) for i in group_ids})
    if not ids:
        raise Invalid("Choose at least one group.", {"ids": "choose at least one"})
    with db.transaction(session):
        chosen = list(session.scalars(select(CommunityGroup).where(CommunityGroup.id.in_(ids))))
        if len(chosen) != len(ids):
            raise Invalid("Some of the groups do not exist.", {"ids": "unknown groups"})
        moved = 0
        for group in chosen:
            if group.organisation_id == target.id:
                continue
            before = group.organisation.name if group.organisation else None
            group.organisation = target
            changes = {"organisation": {"from": before, "to": target.name}}
            audit.record(session, "move", group, user=admin, changes=changes)
            moved += 1
    return moved


def simplified(name):
    """Return a name as it is read at a glance: lower case, no brackets, punctuation or filler."""
    name = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", str(name).lower())
    name = re.sub(r"[^\w\s]", "", name.replace("&", " and "))
    return " ".join(word for word in name.split() if word not in FILLER)


def _close(wanted, other):
    """Tell whether two simplified names would be mistaken for each other."""
    if not wanted or not other:
        return False
    if wanted == other:
        return True
    shorter, longer = sorted((set(wanted.split()), set(other.split())), key=len)
    if len(shorter) >= 2 and shorter <= longer:  # "eastmere cvs" within "eastmere cvs trust"
        return True
    return difflib.SequenceMatcher(None, wanted, other).ratio() >= CLOSE_RATIO


def close_names(session, name):
    """Return the stored organisation names confusingly close to `name` (not equal to it)."""
    name, wanted = name.strip(), simplified(name)
    return [
        existing
        for existing in session.scalars(select(Organisation.name).order_by(Organisation.name))
        if existing != name
        and (existing.strip().lower() == name.lower() or _close(wanted, simplified(existing)))
    ]


def check_new_name(session, name):
    """Refuse a new organisation whose name is confusingly close to a stored one."""
    close = close_names(session, name)
    if close:
        listed = "; ".join(f"'{n}'" for n in close)
        raise Invalid(
            f"The organisation '{name.strip()}' does not exist, and its name is close to "
            f"{listed}. Use one of those, or say it is a new organisation.",
            {"organisation": "is close to " + listed},
        )
