"""Helpers for tests that use the pages as a person would: sign in, then post forms."""

import re

from tests.factories import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, url="/sign-in"):
    """Return the CSRF token of the form at `url`, as a browser would read it."""
    match = CSRF.search(client.get(url).get_data(as_text=True))
    assert match, f"no CSRF token in the form at {url}"
    return match.group(1)


def post_form(client, url, data, form_url=None):
    """Post `data` to `url` with the CSRF token of the page the form is on."""
    token = csrf_token(client, form_url or url)
    return client.post(url, data={**data, "csrf_token": token})


def sign_in(client, email, password=PASSWORD):
    response = post_form(client, "/sign-in", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def sign_out(client):
    response = post_form(client, "/sign-out", {}, form_url="/")
    assert response.status_code == 302
    return response
