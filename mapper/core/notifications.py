"""Notifications by email: the editor told of an approval or rejection, a digest of the
moderation queue for admins (at most one an hour each), reminders of groups not checked in
12 months with signed links to mark each checked. All are non-essential: a user may turn
them off (`core.mail.set_notifications`)."""

from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import or_, select, update

from mapper.core import audit, links, mail
from mapper.errors import Conflict, NotFound
from mapper.store import db
from mapper.store.mail import MailPreference
from mapper.store.models import CommunityGroup, PendingChange, User, utcnow

DIGEST_EVERY = timedelta(hours=1)
STALE_AFTER = timedelta(days=365)
CHECK_LINK_DAYS = 30  # how long a reminder's "mark as checked" link works
CHECK_SALT = "mark-group-checked"
PREFERENCES_PATH = "/account/notifications"
OFF = "You can turn these emails off on your notification settings page."


def _notify(session, user, subject, paragraphs, links=()):
    """Queue a non-essential mail to an active user (skipped if they turned them off)."""
    if user is None or not user.active:
        return None
    links = [*links, ("Your notification settings", PREFERENCES_PATH)]
    return mail.queue(
        session, user.email, subject, [*paragraphs, OFF], links, kind="notification", user=user
    )


# Approvals and rejections ------------------------------------------------------------------


def group_decided(session, group, approved, reason=None):
    """Tell the editor who registered a group that it was approved or rejected."""
    editor = session.get(User, group.created_by_id) if group.created_by_id else None
    if approved:
        subject = f"Approved: {group.name}"
        paragraphs = [f"Your group “{group.name}” has been approved and is now on the map."]
        links = [("See the group", f"/groups/{group.id}")]
    else:
        subject = f"Not approved: {group.name}"
        paragraphs = [
            f"Your group “{group.name}” was not approved.",
            f"The reason given: {reason}",
        ]
        links = [("Your groups", "/groups/mine")]
    _notify(session, editor, subject, paragraphs, links)


def change_decided(session, proposal, approved, reason=None):
    """Tell the editor who proposed a change to a group that it was approved or rejected."""
    editor = session.get(User, proposal.user_id) if proposal.user_id else None
    name = proposal.group.name
    if approved:
        subject = f"Change approved: {name}"
        paragraphs = [f"Your change to “{name}” has been approved and is now on the map."]
    else:
        subject = f"Change not approved: {name}"
        paragraphs = [f"Your change to “{name}” was not approved.", f"The reason given: {reason}"]
    _notify(
        session, editor, subject, paragraphs, [("See the group", f"/groups/{proposal.group_id}")]
    )


# The moderation digest ---------------------------------------------------------------------


def _waiting_since(session, since):
    """The pending groups and changes that entered the queue after `since`."""
    groups = session.scalars(
        select(CommunityGroup.name)
        .where(CommunityGroup.status == "pending", CommunityGroup.created_at > since)
        .order_by(CommunityGroup.created_at)
    ).all()
    changes = session.scalars(
        select(CommunityGroup.name)
        .join(PendingChange, PendingChange.group_id == CommunityGroup.id)
        .where(PendingChange.status == "pending", PendingChange.created_at > since)
        .order_by(PendingChange.created_at)
    ).all()
    return groups, changes


def digest_admins(session, now=None):
    """Mail each admin the items that entered the queue since their last digest, unless they
    had one in the last hour; in the caller's transaction. Returns how many were queued.

    Called when an item enters the queue, and by `mapper send-mail` (cron) to send what
    arrived during an admin's quiet hour.
    """
    now = now or utcnow()
    admins = session.scalars(
        select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id)
    ).all()
    queued = 0
    for admin in admins:
        preference = session.get(MailPreference, admin.id)
        if preference is None:
            preference = MailPreference(user_id=admin.id, notifications=True)
            session.add(preference)
            session.flush()
        if not preference.notifications:
            continue
        last = links.aware(preference.last_digest_at)
        since = last or datetime.min.replace(tzinfo=UTC)
        groups, changes = _waiting_since(session, since)
        if not (groups or changes) or (last and last > now - DIGEST_EVERY):
            continue
        # Only one of two simultaneous senders takes the hour (the row lock decides).
        claimed = session.execute(
            update(MailPreference)
            .where(MailPreference.user_id == admin.id)
            .where(
                or_(
                    MailPreference.last_digest_at.is_(None),
                    MailPreference.last_digest_at < now - DIGEST_EVERY,
                )
            )
            .values(last_digest_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        lines = [f"New group: {name}" for name in groups]
        lines += [f"Change to: {name}" for name in changes]
        count = len(lines)
        _notify(
            session,
            admin,
            f"{count} new item{'s' if count != 1 else ''} to moderate",
            ["These entered the moderation queue since the last digest:", *lines],
            [("Open the moderation queue", "/moderation")],
        )
        queued += 1
    return queued


# Reminders of groups not checked in 12 months ----------------------------------------------


def _serializer(secret):
    return URLSafeTimedSerializer(secret, salt=CHECK_SALT)


def check_link_path(secret, group, user):
    """The path of a signed link that lets `user` mark `group` checked, without signing in."""
    token = _serializer(secret).dumps({"g": group.id, "u": user.id})
    return f"/groups/{group.id}/checked/{token}"


def read_check_link(session, secret, group_id, token):
    """Return (group, user) of a valid "mark as checked" link; NotFound or Conflict if not."""
    try:
        data = _serializer(secret).loads(token, max_age=CHECK_LINK_DAYS * 86400)
    except SignatureExpired:
        raise Conflict("This link has expired. Sign in to mark the group as checked.") from None
    except BadSignature:
        raise NotFound("This link is not valid. Check that you copied all of it.") from None
    group, user = session.get(CommunityGroup, data.get("g")), session.get(User, data.get("u"))
    if group is None or group.id != group_id or user is None:
        raise NotFound("This link is not valid. Check that you copied all of it.")
    if not user.active:
        raise Conflict("This account has been deactivated.")
    return group, user


def stale_groups_by_organisation(session, on=None):
    """Return {organisation: [its open groups not checked in 12 months, oldest first]}."""
    cutoff = (on or utcnow().date()) - STALE_AFTER
    rows = session.scalars(
        select(CommunityGroup)
        .where(CommunityGroup.status.in_(("active", "inactive")))
        .where(CommunityGroup.organisation_id.is_not(None))
        .where(or_(CommunityGroup.last_verified.is_(None), CommunityGroup.last_verified < cutoff))
        .order_by(
            CommunityGroup.organisation_id,
            CommunityGroup.last_verified.is_not(None),
            CommunityGroup.last_verified,
            CommunityGroup.name,
        )
    )
    found = {}
    for group in rows:
        found.setdefault(group.organisation, []).append(group)
    return found


def send_reminders(session, secret, on=None):
    """Mail each organisation's editors the list of their groups not checked in 12 months,
    each with a link to mark it checked; audited per organisation. Returns (mails, groups)."""
    mails = groups_told = 0
    with db.transaction(session):
        for organisation, groups in stale_groups_by_organisation(session, on).items():
            editors = session.scalars(
                select(User)
                .where(User.organisation_id == organisation.id, User.active.is_(True))
                .where(User.role == "editor")
                .order_by(User.id)
            ).all()
            sent_to = [e for e in editors if _remind(session, secret, organisation, groups, e)]
            if sent_to:
                mails += len(sent_to)
                groups_told += len(groups)
                changes = {"groups": [g.id for g in groups], "editors": [e.id for e in sent_to]}
                audit.record(session, "remind", organisation, changes=changes)
    return mails, groups_told


def _remind(session, secret, organisation, groups, editor):
    def checked(group):
        return group.last_verified.strftime("%-d %B %Y") if group.last_verified else "never"

    links = [
        (
            f"Mark “{g.name}” as checked (last checked: {checked(g)})",
            check_link_path(secret, g, editor),
        )
        for g in groups
    ]
    count = len(groups)
    return _notify(
        session,
        editor,
        f"{count} of {organisation.name}'s groups to check",
        [
            f"{count} of {organisation.name}'s groups ha{'ve' if count != 1 else 's'} not "
            "been checked in 12 months. Please check each group's details are still right, "
            "then use its link below to mark it checked (or edit it on the map).",
            f"Each link works for {CHECK_LINK_DAYS} days.",
        ],
        [*links, ("Your groups not checked in 12 months", "/groups/mine?stale=1")],
    )
