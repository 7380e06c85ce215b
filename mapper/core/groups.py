"""Community groups: registration, editing, moderation and freshness."""

from datetime import timedelta

from geoalchemy2.shape import to_shape
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from mapper import geo
from mapper.core import notifications
from mapper.core.audit import record
from mapper.core.duplicates import LikelyDuplicate, likely_duplicates
from mapper.core.group_input import GROUP_TEXT_FIELDS, clean_group
from mapper.errors import Conflict, Forbidden, Invalid
from mapper.store import db
from mapper.store.db import to_wkb_element
from mapper.store.models import CommunityGroup, IdempotencyKey, PendingChange, Postcode, utcnow
from mapper.store.queries import categories_by_slug, current_wards_by_code

STALE_AFTER = timedelta(days=365)


def today():
    """Return today's date in UTC."""
    return utcnow().date()


def may_edit(user, group):
    """Admins edit every group; editors the groups of their own organisation."""
    if user.role == "admin":
        return True
    return group.organisation_id is not None and group.organisation_id == user.organisation_id


def needs_approval(user):
    """Tell whether the user's new groups and edits to active groups wait for an admin."""
    return user.role != "admin" and not user.organisation.trusted


def _require_admin(user, doing):
    if user.role != "admin":
        raise Forbidden(f"Only administrators can {doing}.")


def _require_may_edit(user, group):
    if not may_edit(user, group):
        raise Forbidden(f"“{group.name}” belongs to another organisation.")


def _require_open(group):
    if group.status == "closed":
        raise Conflict(f"“{group.name}” is closed; it is kept for history and cannot change.")


def group_snapshot(group):
    """Return a group's editable fields as plain JSON values, by the names `clean_group` uses."""
    snapshot = {field: getattr(group, column) for field, (column, _) in GROUP_TEXT_FIELDS.items()}
    point = to_shape(group.geom) if group.geom is not None else None
    snapshot.update(
        postcode=group.postcode,
        categories=sorted(c.slug for c in group.categories),
        wards_served=sorted(w.code for w in group.wards_served),
        location_precision=group.location_precision or "exact",
        org_ids=group.org_ids,
        lonlat=[round(point.x, geo.COORDINATE_DECIMALS), round(point.y, geo.COORDINATE_DECIMALS)]
        if point
        else None,
    )
    return snapshot


def _differences(group, values):
    """Return {field: {"from": old, "to": new}} for the values that change the group."""
    before = group_snapshot(group)
    return {
        field: {"from": before[field], "to": value}
        for field, value in values.items()
        if before[field] != value
    }


def _apply(session, group, values):
    """Set cleaned values on a group; return what changed."""
    changes = _differences(group, values)
    with session.no_autoflush:
        for field in changes:
            value = values[field]
            if field == "lonlat":
                group.geom = to_wkb_element(geo.lonlat_point(value))
            elif field == "categories":
                group.categories = categories_by_slug(session, value)
            elif field == "wards_served":
                group.wards_served = current_wards_by_code(session, value)
            elif field in ("postcode", "location_precision", "org_ids"):
                setattr(group, field, value)
            else:
                setattr(group, GROUP_TEXT_FIELDS[field][0], value)
    return changes


def _replayed(session, user, key, request_hash):
    """Return the group an earlier POST with this Idempotency-Key created, or None."""
    row = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.request_hash != request_hash:
        reason = "was already used with a different request"
        raise Invalid(f"The Idempotency-Key {reason}.", fields={"Idempotency-Key": reason})
    return session.get(CommunityGroup, row.group_id) if row.group_id else None


def register_group(session, user, data, confirm_duplicate=False, idempotency=None):
    """Register a group for the user's organisation; return (group, replayed).

    Groups of admins and of trusted organisations are active at once, others pending.
    `idempotency` is (key, request hash): a repeated request returns the group the first one
    created, and the unique key makes concurrent repeats wait for the first and then replay.
    """
    if idempotency:
        group = _replayed(session, user, *idempotency)
        if group is not None:
            return group, True
    values = clean_group(session, data)
    try:
        with db.transaction(session):
            if idempotency:
                key = IdempotencyKey(
                    user_id=user.id, key=idempotency[0], request_hash=idempotency[1]
                )
                session.add(key)
                session.flush()
            if not confirm_duplicate:
                # One registration at a time checks and inserts, so that identical requests
                # arriving together store one group (SQLite's write lock does this already).
                db.serialise(session, "register_group")
                org_ids, website = values.get("org_ids", ()), values.get("website")
                duplicates = likely_duplicates(
                    session, values["name"], values["lonlat"], None, user, website, org_ids
                )
                if duplicates:
                    raise LikelyDuplicate(duplicates, org_ids, website)
            trusted = not needs_approval(user)
            group = CommunityGroup(
                status="active" if trusted else "pending",
                organisation_id=user.organisation_id,
                created_by_id=user.id,
                last_verified=today(),
                active_from=today() if trusted else None,
            )
            changes = _apply(session, group, values)
            session.add(group)
            session.flush()
            if idempotency:
                key.group_id = group.id
            changes["status"] = {"from": None, "to": group.status}
            record(session, "create", group, user=user, changes=changes)
            if group.status == "pending":
                notifications.digest_admins(session)
    except IntegrityError:
        group = _replayed(session, user, *idempotency) if idempotency else None
        if group is None:
            raise
        return group, True
    return group, False


def update_group(session, user, group, data):
    """Change a group's fields; return a PendingChange when an admin must approve the edit.

    Editors of untrusted organisations edit their pending groups directly, but their edits to
    active groups wait in the moderation queue. Returns None when the edit is applied (or
    changes nothing).
    """
    _require_may_edit(user, group)
    _require_open(group)
    values = clean_group(session, data, partial=True)
    changes = _differences(group, values)
    if not changes:
        return None
    with db.transaction(session):
        if group.status == "active" and needs_approval(user):
            if _hides_more(group, values.get("location_precision")):
                # Publishing less of a location never waits for an admin.
                hiding = {"location_precision": values["location_precision"]}
                record(session, "update", group, user=user, changes=_apply(session, group, hiding))
                changes.pop("location_precision")
                if not changes:
                    return None
            proposal = PendingChange(
                group_id=group.id,
                user_id=user.id,
                changes={field: values[field] for field in changes},
            )
            session.add(proposal)
            session.flush()
            record(session, "propose", group, user=user, changes=changes)
            notifications.digest_admins(session)
            return proposal
        _apply(session, group, {field: values[field] for field in changes})
        record(session, "update", group, user=user, changes=changes)
    return None


def _hides_more(group, precision):
    """Tell whether `precision` publishes less of the group's location than it does now."""
    order = {name: rank for rank, name in enumerate(geo.PRECISIONS)}
    return precision is not None and order[precision] > order[group.location_precision or "exact"]


def _reason(reason):
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise Invalid("Give a reason.", fields={"reason": "is required"})
    return reason


def _change_status(session, user, group, action, status, reason=None, **values):
    """Move a group to `status` and record `action`, in the caller's transaction."""
    changes = {"status": {"from": group.status, "to": status}}
    group.status = status
    for key, value in values.items():
        setattr(group, key, value)
    record(session, action, group, user=user, changes=changes, reason=reason)
    return group


def _set_status(session, user, group, action, status, reason=None, **values):
    """Move a group to `status` in its own transaction and record `action`."""
    with db.transaction(session):
        return _change_status(session, user, group, action, status, reason, **values)


def reopen_group(session, user, group):
    """Make a closed group active again (admins only); its closing stays in the history."""
    _require_admin(user, "reopen groups")
    if group.status != "closed":
        raise Conflict(f"“{group.name}” is {group.status}, not closed.")
    return _set_status(
        session,
        user,
        group,
        "reopen",
        "active",
        active_until=None,
        close_reason=None,
        active_from=group.active_from or today(),
    )


def approve_group(session, user, group):
    """Make a pending group active (admins only)."""
    with db.transaction(session):
        _approve(session, user, group)
    return group


def reject_group(session, user, group, reason):
    """Refuse a pending group with a reason; it is closed, never deleted (admins only)."""
    _require_admin(user, "reject groups")
    reason = _reason(reason)
    if group.status != "pending":
        raise Conflict(f"“{group.name}” is {group.status}, not waiting for approval.")
    with db.transaction(session):
        _change_status(session, user, group, "reject", "closed", reason, close_reason=reason)
        notifications.group_decided(session, group, approved=False, reason=reason)
    return group


def close_group(session, user, group, reason):
    """Close a group with a reason; it stays for history and leaves the map."""
    _require_may_edit(user, group)
    reason = _reason(reason)
    with db.transaction(session):
        _close(session, user, group, reason)
    return group


def mark_verified(session, user, group):
    """Record that someone checked the group's details today."""
    with db.transaction(session):
        _verify(session, user, group)
    return group


def _verify(session, user, group):
    _require_may_edit(user, group)
    _require_open(group)
    changes = {"last_verified": {"from": _iso(group.last_verified), "to": today().isoformat()}}
    group.last_verified = today()
    record(session, "verify", group, user=user, changes=changes)


def _approve(session, user, group):
    _require_admin(user, "approve groups")
    if group.status != "pending":
        raise Conflict(f"“{group.name}” is {group.status}, not waiting for approval.")
    _change_status(
        session, user, group, "approve", "active", active_from=group.active_from or today()
    )
    notifications.group_decided(session, group, approved=True)


def _close(session, user, group, reason):
    _require_may_edit(user, group)
    _require_open(group)
    until = today() if group.status == "active" else group.active_until
    _change_status(
        session, user, group, "close", "closed", reason, close_reason=reason, active_until=until
    )


BULK_ACTIONS = ("approve", "verify", "close")


def act_on_groups(session, user, chosen, action, reason=None):
    """Approve, mark as checked or close (with a reason) several groups: all of them or none."""
    if action not in BULK_ACTIONS:
        raise Invalid(
            "Choose what to do.", fields={"action": "must be one of approve, verify, close"}
        )
    if not chosen:
        raise Invalid("Choose at least one group.", fields={"ids": "choose at least one group"})
    reason = _reason(reason) if action == "close" else None
    with db.transaction(session):
        for group in chosen:
            if action == "approve":
                _approve(session, user, group)
            elif action == "verify":
                _verify(session, user, group)
            else:
                _close(session, user, group, reason)
    return chosen


def _iso(day):
    return day.isoformat() if day else None


def approve_change(session, user, proposal):
    """Apply an edit that waited for approval (admins only)."""
    _require_admin(user, "approve changes")
    _require_undecided(proposal)
    group = proposal.group
    _require_open(group)
    proposed = dict(proposal.changes)
    if proposed.get("postcode") and "lonlat" not in proposed:
        # Proposed before a new postcode moved the point too (the form kept the old point).
        found = session.get(Postcode, proposed["postcode"])
        if found is not None:
            proposed["lonlat"] = [
                round(found.lon, geo.COORDINATE_DECIMALS),
                round(found.lat, geo.COORDINATE_DECIMALS),
            ]
    with db.transaction(session):
        try:
            changes = _apply(session, group, proposed)
        except KeyError as unknown:
            raise Conflict(f"The change names something that no longer exists: {unknown}") from None
        proposal.status, proposal.decided_by_id, proposal.decided_at = "approved", user.id, utcnow()
        record(session, "approve_change", group, user=user, changes=changes)
        notifications.change_decided(session, proposal, approved=True)
    return group


def reject_change(session, user, proposal, reason):
    """Refuse an edit that waited for approval, with a reason (admins only)."""
    _require_admin(user, "reject changes")
    reason = _reason(reason)
    _require_undecided(proposal)
    with db.transaction(session):
        proposal.status, proposal.reason = "rejected", reason
        proposal.decided_by_id, proposal.decided_at = user.id, utcnow()
        record(session, "reject_change", proposal.group, user=user, reason=reason)
        notifications.change_decided(session, proposal, approved=False, reason=reason)
    return proposal


def _require_undecided(proposal):
    if proposal.status != "pending":
        raise Conflict(f"This change to “{proposal.group.name}” was already {proposal.status}.")


def editable_groups(session, user):
    """Return the groups the user may edit, closed ones last, then by name."""
    query = select(CommunityGroup).order_by(
        CommunityGroup.status == "closed", CommunityGroup.name, CommunityGroup.id
    )
    if user.role != "admin":
        query = query.where(CommunityGroup.organisation_id == user.organisation_id)
    return list(session.scalars(query))


def stale_groups(session, user, on=None):
    """Return the user's open groups not verified in the last 12 months, oldest first."""
    cutoff = (on or today()) - STALE_AFTER
    query = (
        select(CommunityGroup)
        .where(CommunityGroup.status.in_(("active", "inactive")))
        .where(or_(CommunityGroup.last_verified.is_(None), CommunityGroup.last_verified < cutoff))
        .order_by(CommunityGroup.last_verified.is_not(None), CommunityGroup.last_verified)
    )
    if user.role != "admin":
        query = query.where(CommunityGroup.organisation_id == user.organisation_id)
    return list(session.scalars(query))


def moderation_queue(session):
    """Return (pending groups, pending changes), oldest first."""
    groups = session.scalars(
        select(CommunityGroup)
        .where(CommunityGroup.status == "pending")
        .order_by(CommunityGroup.created_at, CommunityGroup.id)
    )
    changes = session.scalars(
        select(PendingChange)
        .where(PendingChange.status == "pending")
        .order_by(PendingChange.created_at, PendingChange.id)
    )
    return list(groups), list(changes)
