"""Notifications: approvals and rejections told to the editor, the admins' hourly digest,
reminders of groups not checked in 12 months, and the per-user opt-out."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mapper.core import groups, mail, notifications
from mapper.store.mail import OutboxMail
from mapper.store.models import AuditEvent, utcnow
from tests.factories import four_users, make_group, make_user

SECRET = "test-secret-key"  # noqa: S105


@pytest.fixture
def people(session):
    return four_users(session)


def outbox(session):
    session.expire_all()
    return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def register(session, user, name="Knit and Natter"):
    data = {"name": name, "categories": ["social-befriending"], "postcode": "TS1 1AA"}
    group, _ = groups.register_group(session, user, data)
    return group


def test_the_editor_is_told_when_their_group_is_approved(session, people):
    group = register(session, people["editor"])
    before = len(outbox(session))
    groups.approve_group(session, people["admin"], group)
    [message] = outbox(session)[before:]
    assert message.to_address == "ed@lio.example" and message.kind == "notification"
    assert message.subject == "Approved: Knit and Natter"
    assert f"{mail.BASE_MARK}/groups/{group.id}" in message.body_text


def test_the_editor_is_told_why_their_group_was_rejected(session, people):
    group = register(session, people["editor"])
    before = len(outbox(session))
    groups.reject_group(session, people["admin"], group, "It is a business, not a group")
    [message] = outbox(session)[before:]
    assert message.subject == "Not approved: Knit and Natter"
    assert "The reason given: It is a business, not a group" in message.body_text


@pytest.mark.parametrize("approve", [True, False])
def test_the_editor_is_told_of_the_decision_on_their_change(session, people, approve):
    org = people["editor"].organisation_id
    group = make_group(session, "Choir", (-1.95, 53.45), organisation_id=org)
    proposal = groups.update_group(session, people["editor"], group, {"name": "Chamber Choir"})
    before = len(outbox(session))
    if approve:
        groups.approve_change(session, people["admin"], proposal)
    else:
        groups.reject_change(session, people["admin"], proposal, "Keep the old name")
    [message] = outbox(session)[before:]
    assert message.to_address == "ed@lio.example"
    assert ("Change approved" if approve else "Keep the old name") in message.body_text + (
        message.subject
    )


def test_an_editor_who_turned_notifications_off_is_not_told(session, people):
    mail.set_notifications(session, people["editor"], False)
    group = register(session, people["editor"])
    before = len(outbox(session))
    groups.approve_group(session, people["admin"], group)
    assert outbox(session)[before:] == []
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "preferences"))
    assert event.changes == {"notifications": False} and event.user_id == people["editor"].id


def test_admins_get_at_most_one_digest_an_hour_listing_what_arrived(session, people):
    second_admin = make_user(session, "second@council.example", "admin", "Council")
    mail.set_notifications(session, second_admin, False)
    register(session, people["editor"], "First Group")
    [digest] = [m for m in outbox(session) if m.to_address == "admin@council.example"]
    assert (
        digest.subject == "1 new item to moderate" and "New group: First Group" in digest.body_text
    )
    register(session, people["editor"], "Second Group")
    proposal_group = make_group(
        session, "Choir", (-1.95, 53.45), organisation_id=people["editor"].organisation_id
    )
    groups.update_group(session, people["editor"], proposal_group, {"name": "Chamber Choir"})
    assert len([m for m in outbox(session) if m.to_address == "admin@council.example"]) == 1
    with groups.db.transaction(session):  # the cron run an hour later
        notifications.digest_admins(session, now=utcnow() + timedelta(minutes=61))
    later = [m for m in outbox(session) if m.to_address == "admin@council.example"][1]
    assert later.subject == "2 new items to moderate"
    assert "New group: Second Group" in later.body_text and "First Group" not in later.body_text
    assert "Change to: Choir" in later.body_text
    assert not [m for m in outbox(session) if m.to_address == "second@council.example"]


def test_reminders_list_each_organisations_stale_groups_with_signed_links(session, people):
    org = people["editor"].organisation_id
    old = make_group(
        session, "Old", (-1.95, 53.45), organisation_id=org, last_verified=date(2020, 1, 1)
    )
    never = make_group(session, "Never", (-1.95, 53.45), organisation_id=org)
    make_group(session, "Fresh", (-1.95, 53.45), organisation_id=org, last_verified=utcnow().date())
    make_group(session, "Closed", (-1.95, 53.45), organisation_id=org, status="closed")
    colleague = make_user(session, "quiet@lio.example", organisation="Small LIO")
    mail.set_notifications(session, colleague, False)
    assert notifications.send_reminders(session, SECRET) == (1, 2)
    [message] = [m for m in outbox(session) if "to check" in m.subject]
    assert message.to_address == "ed@lio.example"
    assert message.subject == "2 of Small LIO's groups to check"
    assert "Mark “Never” as checked (last checked: never)" in message.body_text
    assert "Mark “Old” as checked (last checked: 1 January 2020)" in message.body_text
    assert "Fresh" not in message.body_text and "Closed" not in message.body_text
    assert f"/groups/{old.id}/checked/" in message.body_text
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "remind"))
    assert event.changes == {"groups": [never.id, old.id], "editors": [people["editor"].id]}


def test_a_check_link_names_its_group_and_user_and_refuses_tampering(session, people):
    group = make_group(
        session, "Old", (-1.95, 53.45), organisation_id=people["editor"].organisation_id
    )
    path = notifications.check_link_path(SECRET, group, people["editor"])
    token = path.rsplit("/", 1)[1]
    found = notifications.read_check_link(session, SECRET, group.id, token)
    assert found == (group, people["editor"])
    with pytest.raises(notifications.NotFound):
        notifications.read_check_link(session, SECRET, group.id, token[:-2] + "xx")
    with pytest.raises(notifications.NotFound):
        notifications.read_check_link(session, SECRET, group.id + 1, token)
    with pytest.raises(notifications.NotFound):
        notifications.read_check_link(session, "another secret", group.id, token)
