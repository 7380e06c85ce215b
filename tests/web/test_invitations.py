"""The invitation pages: invite by email over real SMTP, accept, sign in; refusals named."""

import pytest
from sqlalchemy import select

from mapper.store.mail import AccessLink
from mapper.store.models import User
from tests.factories import four_users
from tests.forms import csrf_token, post_form, sign_in, sign_out
from tests.mail import link_in, path_of, text_of

NEW_PASSWORD = "a brand new long password"  # noqa: S105


@pytest.fixture
def people(session):
    return four_users(session)


def _invite(client, **data):
    response = post_form(client, "/admin/invitations/new", data)
    response.close()  # the answer has gone out: the mail is delivered now
    return response


def test_an_admin_invites_and_the_person_accepts_then_signs_in(mail_app, client, session, people):
    app, inbox = mail_app
    app.config["BASE_URL"] = "https://mapper.example.gov.uk"
    sign_in(client, "admin@council.example")
    council = people["admin"].organisation_id
    response = _invite(client, email="new@example.org", role="admin", organisation=council)
    assert response.status_code == 302
    [message] = inbox.wait_for(1)
    assert message["To"] == "new@example.org"
    assert "admin@council.example has invited you" in text_of(message)
    url = link_in(message)
    assert url.startswith("https://mapper.example.gov.uk/invitations/")
    assert message.get_body(("html",)).get_content().count(url) == 1
    sign_out(client)
    page = client.get(path_of(url)).get_data(as_text=True)
    assert "new@example.org" in page and "Council" in page
    token = csrf_token(client, path_of(url))
    accepted = client.post(
        path_of(url),
        data={"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "csrf_token": token},
    )
    assert accepted.status_code == 302 and accepted.location.endswith("/sign-in")
    sign_in(client, "new@example.org", NEW_PASSWORD)
    again = client.get(path_of(url))
    assert again.status_code == 409 and "already been used" in again.get_data(as_text=True)


def test_the_invite_page_lists_waiting_invitations_with_a_resend_button(
    mail_app, client, session, people
):
    _, inbox = mail_app
    sign_in(client, "admin@council.example")
    _invite(
        client,
        email="new@example.org",
        role="editor",
        organisation=people["editor"].organisation_id,
    )
    page = client.get("/admin/invitations/new").get_data(as_text=True)
    assert "new@example.org" in page and "Resend" in page
    link_id = session.scalar(select(AccessLink.id))
    resent = post_form(
        client, f"/admin/invitations/{link_id}/resend", {}, form_url="/admin/invitations/new"
    )
    resent.close()
    assert resent.status_code == 302
    first, second = inbox.wait_for(2)
    assert link_in(first) != link_in(second)
    assert client.get(path_of(link_in(first))).status_code == 409


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "", "role": "editor"}, "email", "Enter the email address"),
        ({"email": "nope", "role": "editor"}, "email", "correct format"),
        ({"email": "ed@lio.example", "role": "editor"}, "email", "already an account"),
        ({"email": "new@example.org", "role": "boss"}, "role", "Choose a role"),
    ],
)
def test_a_bad_invitation_is_a_422_naming_the_field(client, people, data, field, message):
    sign_in(client, "admin@council.example")
    response = post_form(
        client, "/admin/invitations/new", {**data, "organisation": people["admin"].organisation_id}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'href="#{field}"' in page and message in page


def test_a_trusted_editor_is_offered_their_own_organisation_and_the_editor_role_only(
    client, people
):
    sign_in(client, "tess@cvs.example")
    page = client.get("/admin/invitations/new").get_data(as_text=True)
    assert "Big CVS" in page and "Small LIO" not in page
    assert 'value="admin"' not in page
    refused = post_form(
        client,
        "/admin/invitations/new",
        {
            "email": "x@example.org",
            "role": "editor",
            "organisation": people["editor"].organisation_id,
        },
    )
    assert refused.status_code == 403


def test_untrusted_editors_and_visitors_cannot_invite(client, people):
    assert client.get("/admin/invitations/new").status_code == 302  # to sign in
    sign_in(client, "ed@lio.example")
    assert client.get("/admin/invitations/new").status_code == 403


def test_accepting_needs_the_same_long_password_twice(client, session, people):
    from mapper.core import invitations

    _, token = invitations.invite(session, people["admin"], "new@example.org", "editor", "Council")
    url = f"/invitations/{token}"
    for data, field in [
        ({"password": "short", "confirm_password": "short"}, "password"),
        ({"password": NEW_PASSWORD, "confirm_password": "different"}, "confirm_password"),
    ]:
        response = post_form(client, url, data)
        assert response.status_code == 422
        assert f'href="#{field}"' in response.get_data(as_text=True)
    assert session.scalar(select(User).where(User.email == "new@example.org")) is None


def test_a_made_up_link_is_a_404_page(client, people):
    response = client.get("/invitations/" + "A" * 43)
    assert response.status_code == 404 and "not valid" in response.get_data(as_text=True)


def test_the_menu_offers_invite_to_those_who_may_invite_only(client, people):
    sign_in(client, "tess@cvs.example")
    assert 'href="/admin/invitations/new"' in client.get("/groups/mine").get_data(as_text=True)
    sign_out(client)
    sign_in(client, "ed@lio.example")
    assert 'href="/admin/invitations/new"' not in client.get("/groups/mine").get_data(as_text=True)
