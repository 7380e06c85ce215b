"""Partners' intelligence (mapper.core.notes): validation, who sees which note, replies,
resolving, following a ward and the mail it brings; on both backends."""

from datetime import date, timedelta

import pytest
from shapely.geometry import box
from sqlalchemy import select

from mapper.core import audit, notes
from mapper.errors import Conflict, Forbidden, Invalid, NotFound
from mapper.store.mail import OutboxMail
from tests.factories import make_user, make_wards, two_wards

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


@pytest.fixture
def people(session):
    """Testshire's two wards, Otherton's one, an editor, an admin, a second editor."""
    two_wards(session)
    make_wards(
        session, {"E05000009": ("Far Ward", box(-1.9, 53.4, -1.8, 53.5))}, "E08000098", "Otherton"
    )
    return {
        "editor": make_user(session, "ed@lio.example", organisation="Small LIO"),
        "admin": make_user(session, "admin@council.example", "admin", "Council", True),
        "other": make_user(session, "oz@other.example", organisation="Other LIO"),
    }


def post(session, user, ward="E05000002", **data):
    return notes.post_note(session, user, ward, {"text": "New estate, no groups yet.", **data})


def test_a_note_is_partners_only_unless_made_public(session, people):
    secret = post(session, people["editor"], categories=["faith"], review_on=TOMORROW)
    public = post(session, people["admin"], text="The centre closes in March.", visibility="public")
    assert (secret.visibility, secret.status, secret.la_code) == ("partners", "open", "E08000099")
    assert secret.categories == ["faith"] and secret.ward_name == "West Ward"
    assert notes.visible_notes(session, None) == [public]
    for partner in people.values():  # every signed-in editor and admin is a partner
        assert set(notes.visible_notes(session, partner)) == {secret, public}
    assert notes.get_note(session, people["other"], secret.id) == secret
    with pytest.raises(NotFound):
        notes.get_note(session, None, secret.id)
    assert notes.get_note(session, None, public.id) == public


def test_partners_see_the_notes_of_a_local_authority_or_a_ward(session, people):
    west = post(session, people["editor"])
    east = post(session, people["editor"], ward="E05000001")
    far = post(session, people["editor"], ward="E05000009")
    editor = people["other"]
    assert set(notes.visible_notes(session, editor, la_codes=["E08000099"])) == {west, east}
    assert notes.visible_notes(session, editor, ward_codes=["E05000009"]) == [far]
    assert notes.visible_notes(session, editor, la_codes=["E08000098"]) == [far]


def test_signed_out_or_deactivated_nobody_posts(session, people):
    with pytest.raises(Forbidden):
        post(session, None)
    people["other"].active = False
    session.commit()
    with pytest.raises(Forbidden):
        post(session, people["other"])
    assert notes.visible_notes(session, people["other"]) == []


def test_every_field_wrong_is_named(session, people):
    with pytest.raises(Invalid) as caught:
        notes.post_note(
            session,
            people["editor"],
            "E05000002",
            {
                "text": "  ",
                "categories": ["knitting"],
                "lon": "-2.05",
                "review_on": "2020-01-01",
                "visibility": "friends",
                "colour": "red",
            },
        )
    assert set(caught.value.fields) == {
        "text",
        "categories",
        "lat",
        "review_on",
        "visibility",
        "colour",
    }
    assert "knitting" in caught.value.fields["categories"]
    with pytest.raises(Invalid) as caught:
        post(session, people["editor"], lon="-1.95", lat="53.45")  # in the east ward
    assert "outside the ward" in caught.value.fields["lon"]
    with pytest.raises(Invalid) as caught:
        post(session, people["editor"], lon="x", lat="99", review_on="31/12/2030")
    assert set(caught.value.fields) == {"lon", "lat", "review_on"}
    with pytest.raises(NotFound):
        post(session, people["editor"], ward="E05999999")


def test_a_note_keeps_its_point_and_is_audited(session, people):
    note = post(session, people["editor"], lon="-2.05", lat="53.45", categories=["Faith"])
    point = notes.point_of(note)
    assert (round(point.x, 5), round(point.y, 5)) == (-2.05, 53.45)
    [event] = audit.history(session, note)
    assert (event.action, event.user_id) == ("post", people["editor"].id)
    assert event.changes["point"] == [pytest.approx(-2.05), pytest.approx(53.45)]
    assert event.changes["categories"] == ["faith"]


def test_partners_reply_resolve_and_reopen_and_each_step_is_audited(session, people):
    note = post(session, people["editor"], visibility="public")
    answer = notes.reply(session, people["other"], note, "We run a group next door.")
    assert [r.text for r in notes.replies_for(people["admin"], note)] == [answer.text]
    assert notes.replies_for(None, note) == []  # replies are never public
    with pytest.raises(Invalid) as caught:
        notes.reply(session, people["other"], note, "")
    assert caught.value.fields == {"text": "is required"}
    with pytest.raises(Forbidden):
        notes.reply(session, None, note, "Anonymous")
    notes.set_resolved(session, people["admin"], note, True)
    assert (note.status, note.resolved_by_id) == ("resolved", people["admin"].id)
    with pytest.raises(Conflict):
        notes.set_resolved(session, people["other"], note, True)
    notes.set_resolved(session, people["other"], note, False)
    assert (note.status, note.resolved_at) == ("open", None)
    actions = [e.action for e in audit.history(session, note)]
    assert actions == ["post", "reply", "resolve", "reopen"]


def test_followers_but_the_author_are_sent_a_mail_on_each_new_note(session, people):
    notes.follow(session, people["admin"], "e05000002")
    notes.follow(session, people["editor"], "E05000002")
    notes.follow(session, people["other"], "E05000001")
    assert notes.follows(session, people["admin"], "E05000002")
    assert not notes.follows(session, None, "E05000002")
    note = post(session, people["editor"], text="Vaccine take-up is low among older residents.")
    [message] = session.scalars(select(OutboxMail)).all()
    assert message.to_address == "admin@council.example"
    assert message.subject == "New note on West Ward" and message.kind == "notification"
    assert note.text in message.body_text and f"/notes/{note.id}" in message.body_text
    assert "Small LIO" in message.body_text and "ed@lio.example" not in message.body_text
    notes.follow(session, people["admin"], "E05000002", wanted=False)
    post(session, people["other"])
    assert session.query(OutboxMail).count() == 2  # the editor, not the admin who stopped
    assert [e.action for e in audit.history(session, people["admin"])] == ["follow", "unfollow"]
