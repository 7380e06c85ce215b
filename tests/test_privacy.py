"""Signed out, no public page, API answer or download shows personal data or hidden groups.

The walk enumerates `app.url_map`, so routes added later are covered without editing this
test. Path parameters are filled with real ids and codes by their name; a route with a
parameter this test cannot fill fails loudly, so that nobody's route escapes the walk.
"""

import html
import itertools
import json

import pytest
from sqlalchemy import select
from werkzeug.routing.converters import AnyConverter, NumberConverter

from mapper import openreferral, registry
from mapper.models import (
    CommunityGroup,
    Coordinator,
    PendingChange,
    Service,
    User,
    Ward,
)

from .factories import make_token, make_user
from .forms import sign_in, sign_out

# Endpoints that serve files shipped with the app (scripts, styles, icons), not data.
SHIPPED_FILES = {"static", "web.vendor"}
COLLECTIONS = ["wards", "groups", "services", "coordinators", "gaps"]
QUERIES = ["", "?status=pending,inactive,closed&limit=10000", "?limit=10000&f=json"]


@pytest.fixture
def stored(app, session):
    """The demo borough, users of two kinds, and hidden records of every kind."""
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    editor = make_user(session, "secret.editor@lio.example", organisation="Small LIO")
    admin = make_user(session, "secret.admin@council.example", "admin", "Council", True)
    make_token(session, editor)
    lonlat = registry.group_snapshot(session.scalars(select(CommunityGroup)).first())["lonlat"]
    data = {"categories": ["faith"], "lon": lonlat[0], "lat": lonlat[1]}
    pending, _ = registry.register_group(
        session, editor, {"name": "Quillfeather Pending Circle", **data}
    )
    rejected, _ = registry.register_group(
        session, editor, {"name": "Quillfeather Rejected Club", **data}
    )
    registry.reject_group(session, admin, rejected, "Not real")
    active, _ = registry.register_group(session, admin, {"name": "Quillfeather Open Forum", **data})
    active.organisation_id = editor.organisation_id
    session.commit()
    registry.update_group(session, editor, active, {"name": "Quillfeather Proposed Rename"})
    return {"editor": editor, "admin": admin, "pending": pending}


def needles(session):
    """Every string that must never appear signed out, with the forms it takes in a page."""
    secrets = set(session.scalars(select(User.email)))
    for coordinator in session.scalars(select(Coordinator)):
        secrets |= {coordinator.name, coordinator.email, coordinator.phone} - {None}
    hidden = set(
        session.scalars(select(CommunityGroup.name).where(CommunityGroup.status != "active"))
    )
    for change in session.scalars(select(PendingChange)):
        hidden |= {v for v in change.changes.values() if isinstance(v, str)}
    # A hidden group may share its name with an active one (the demo repeats names): those
    # names are public through the active group, so they cannot be told apart here.
    public = set(
        session.scalars(select(CommunityGroup.name).where(CommunityGroup.status == "active"))
    )
    public |= set(session.scalars(select(Service.name))) | set(session.scalars(select(Ward.name)))
    hidden = {name for name in hidden if not any(name in text for text in public)}
    forms = {}
    for secret in secrets | hidden:
        for form in (secret, html.escape(secret), json.dumps(secret)[1:-1]):
            forms[form] = secret
    return forms


def parameter_values(session, name):
    """Real values for a URL parameter, chosen by its name."""
    groups = session.scalars(select(CommunityGroup.id).where(CommunityGroup.status != "active"))
    group_ids = [*groups, *session.scalars(select(CommunityGroup.id).limit(5))]
    services = list(session.scalars(select(Service.id)))
    wards = list(session.scalars(select(Ward.code)))
    lowered = name.lower()
    if "code" in lowered or lowered.startswith("ward"):
        return wards
    if "collection" in lowered:
        return COLLECTIONS
    if lowered.startswith("group"):
        return group_ids
    if lowered == "service_uuid":  # Open Referral ids
        kinds = [("group", group_ids), ("service", services)]
        return [openreferral.record_uuid(kind, i) for kind, ids in kinds for i in ids]
    if lowered in ("taxonomy_uuid", "term_id"):
        return [openreferral.TAXONOMY_ID, openreferral.term_id("faith"), "faith"]
    if lowered.startswith("service"):
        return services
    if lowered.startswith("change"):
        return list(session.scalars(select(PendingChange.id)))
    if lowered in ("id", "feature_id", "featureid", "item_id"):
        return [*group_ids, *services, *wards]
    if lowered in ("fmt", "format", "f", "ext", "extension"):
        return ["geojson", "csv", "json", "html"]
    return None


def public_urls(app, session):
    """Every GET URL of the app with its parameters filled in."""
    urls, unfillable = [], []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SHIPPED_FILES:
            continue
        choices = {}
        for name in sorted(rule.arguments):
            values = parameter_values(session, name)
            if values is None:
                unfillable.append(f"{rule.rule} <{name}>")
                break
            converter = rule._converters.get(name)
            if isinstance(converter, NumberConverter):
                values = [v for v in values if isinstance(v, int)]
            if isinstance(converter, AnyConverter):
                values = [v for v in values if v in converter.items]
            choices[name] = values
        else:
            for combination in itertools.product(*choices.values()):
                urls.append(rule.build(dict(zip(choices, combination, strict=True)))[1])
    assert not unfillable, f"teach parameter_values these parameters: {unfillable}"
    return sorted(set(urls))


def test_signed_out_nothing_personal_or_hidden_appears_anywhere(app, client, session, stored):
    secrets = needles(session)
    assert len(set(secrets.values())) >= 25  # users, coordinators, hidden groups, a change
    # Signed in as an admin, the hidden data is there (so the needles can be found) ...
    sign_in(client, stored["admin"].email)
    moderation = client.get("/moderation").get_data(as_text=True)
    assert "Quillfeather Pending Circle" in moderation and "secret.editor@lio.example" in moderation
    # ... and signed out it is nowhere.
    sign_out(client)
    urls = public_urls(app, session)
    assert {"/", "/api/v1/groups", "/api/v1/wards", "/sign-in"} <= set(urls)
    assert f"/api/v1/groups/{stored['pending'].id}" in urls
    statuses = {}
    for url, query in itertools.product(urls, QUERIES):
        response = client.get(url + query)
        assert response.status_code < 500, (url + query, response.status_code)
        text = response.get_data(as_text=True) + str(response.headers)
        leaks = {secret for form, secret in secrets.items() if form in text}
        assert not leaks, f"{url + query} shows {sorted(leaks)}"
        statuses[url + query] = response.status_code
    # the walk really read pages, not only errors
    assert statuses["/"] == statuses["/api/v1/groups"] == statuses["/sign-in"] == 200
    assert statuses[f"/api/v1/groups/{stored['pending'].id}"] == 404
    assert sum(status == 200 for status in statuses.values()) > 2 * len(QUERIES)
