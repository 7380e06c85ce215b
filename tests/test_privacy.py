"""Signed out, no public page, API answer or download shows personal data or hidden groups.

The walk enumerates `app.url_map`, so routes added later are covered without editing this
test. Path parameters are filled with real ids and codes by their name; a route with a
parameter this test cannot fill fails loudly, so that nobody's route escapes the walk.
"""

import html
import io
import itertools
import json
import re
from datetime import date

import pytest
from geoalchemy2.shape import to_shape
from pypdf import PdfReader
from sqlalchemy import or_, select
from werkzeug.routing.converters import AnyConverter, NumberConverter

from mapper.core import decisions, groups, notes, openreferral, snapshots
from mapper.io import method_docs
from mapper.store.evidence import Decision, Snapshot
from mapper.store.models import (
    ApiToken,
    CommunityGroup,
    Coordinator,
    Organisation,
    PendingChange,
    Service,
    User,
    Ward,
)
from mapper.store.notes import NoteReply, WardNote
from tests.factories import make_token, make_user
from tests.forms import post_form, sign_in, sign_out

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
    lonlat = groups.group_snapshot(session.scalars(select(CommunityGroup)).first())["lonlat"]
    data = {"categories": ["faith"], "lon": lonlat[0], "lat": lonlat[1]}
    pending, _ = groups.register_group(
        session, editor, {"name": "Quillfeather Pending Circle", **data}
    )
    rejected, _ = groups.register_group(
        session, editor, {"name": "Quillfeather Rejected Club", **data}
    )
    groups.reject_group(session, admin, rejected, "Not real")
    active, _ = groups.register_group(session, admin, {"name": "Quillfeather Open Forum", **data})
    active.organisation_id = editor.organisation_id
    session.commit()
    groups.update_group(session, editor, active, {"name": "Quillfeather Proposed Rename"})
    # The evidence: a snapshot, and decisions of every visibility and status on it.
    snapshot = snapshots.take_snapshot(session, "Demo evidence", ["E06999901"])
    ward = snapshots.snapshot_records(session, snapshot)[1][0]["ward_code"]
    decision = {
        "snapshot": str(snapshot.id),
        "la": "E06999901",
        "wards": [ward],
        "action": "invest",
        "decided_by": "Eastmere Partnership",
        "decided_on": date.today().isoformat(),
        "review_on": date.today().isoformat(),
    }
    decisions.record_decision(
        session, admin, {**decision, "summary": "Open plan for all", "visibility": "public"}
    )
    decisions.record_decision(
        session,
        admin,
        {**decision, "summary": "Quillfeather Partners Plan", "visibility": "partners"},
    )
    decisions.record_decision(
        session,
        editor,
        {**decision, "summary": "Quillfeather Proposal Draft", "visibility": "public"},
    )
    rejected = decisions.record_decision(
        session,
        editor,
        {**decision, "summary": "Quillfeather Rejected Idea", "visibility": "public"},
    )
    decisions.settle_proposal(session, admin, rejected, agree=False, reason="No")
    # Partners' notes: one public, one partners-only with a point; replies to both.
    public_note = notes.post_note(
        session, admin, ward, {"text": "Open note for all", "visibility": "public"}
    )
    point = notes.find_ward(session, ward)[1].point_on_surface().coords[0]
    secret_note = notes.post_note(
        session,
        editor,
        ward,
        {"text": "Quillfeather Partners Note", "lon": point[0], "lat": point[1]},
    )
    notes.reply(session, admin, public_note, "Quillfeather Public Reply")
    notes.reply(session, editor, secret_note, "Quillfeather Secret Reply")
    # Sensitive locations: a refuge published approximately and one published by ward only,
    # off the 1 km grid so that no published point can be the true one.
    place_ward = session.scalar(select(Ward).where(Ward.la_code == "E06999901").order_by(Ward.code))
    label = to_shape(place_ward.label_point)
    sensitive, refuges = {}, editor_of_refuges(session)
    for precision, (dx, dy) in (
        ("approximate", (0.00123, 0.00077)),
        ("hidden", (-0.00091, 0.00111)),
    ):
        place = {"lon": round(label.x + dx, 6), "lat": round(label.y + dy, 6)}
        group, _ = groups.register_group(
            session,
            refuges,
            {
                "name": f"Safe House {precision.title()}",
                "categories": ["faith"],
                "address": f"{precision.title()} Lane 12",
                "postcode": "ZZ9 9ZZ",
                "location_precision": precision,
                **place,
            },
            confirm_duplicate=True,
        )
        assert group.status == "active" and group.ward_id == place_ward.id
        sensitive[precision] = (place["lon"], place["lat"])
    return {
        "editor": editor,
        "admin": admin,
        "pending": pending,
        "ward": ward,
        "sensitive": sensitive,
    }


def editor_of_refuges(session):
    """An editor of a trusted organisation: its groups are active at once."""
    return make_user(session, "refuges.editor@refuge.example", organisation="Refuges", trusted=True)


def true_places(sensitive):
    """Patterns finding a true lon/lat pair, to 4 decimals, in any text: either order, a few
    characters apart (GeoJSON, CSV, a page, Open Referral's latitude and longitude)."""
    patterns = {}
    for precision, (lon, lat) in sensitive.items():
        # Cut or rounded to 4 decimals: "-2.24467" is published as "-2.24467" or "-2.2447".
        lon4, lat4 = (
            "(?:" + re.escape(f"{v:.6f}"[:-2]) + "|" + re.escape(f"{v:.4f}") + ")"
            for v in (lon, lat)
        )
        pairs = (lon4 + r"\d*\D{1,30}" + lat4, lat4 + r"\d*\D{1,30}" + lon4)
        patterns[precision] = re.compile("|".join(pairs))
    return patterns


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
    hidden |= set(
        session.scalars(
            select(Decision.summary).where(
                or_(Decision.status != "agreed", Decision.visibility != "public")
            )
        )
    )
    hidden |= set(session.scalars(select(WardNote.text).where(WardNote.visibility != "public")))
    hidden |= set(session.scalars(select(NoteReply.text)))
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
    groups = session.scalars(
        select(CommunityGroup.id).where(
            or_(CommunityGroup.status != "active", CommunityGroup.location_precision != "exact")
        )
    )
    group_ids = [*groups, *session.scalars(select(CommunityGroup.id).order_by("id").limit(5))]
    services = list(session.scalars(select(Service.id)))
    wards = list(session.scalars(select(Ward.code)))
    lowered = name.lower()
    if lowered == "la_code":
        return sorted(set(session.scalars(select(Ward.la_code).where(Ward.la_code.is_not(None)))))
    if lowered.startswith("snapshot"):
        return list(session.scalars(select(Snapshot.id)))
    if lowered.startswith("note"):
        return list(session.scalars(select(WardNote.id)))
    if lowered.startswith("decision"):
        return list(session.scalars(select(Decision.id)))
    if "code" in lowered or lowered.startswith("ward"):
        return wards
    if "collection" in lowered:
        return COLLECTIONS
    if lowered.startswith("group"):
        return group_ids
    if lowered == "service_uuid":  # Open Referral ids
        kinds = [("group", group_ids), ("service", services)]
        return [openreferral.record_uuid(kind, i) for kind, ids in kinds for i in ids]
    if lowered == "at_location_uuid":  # Open Referral services at locations
        kinds = [("group", group_ids), ("service", services)]
        return [
            openreferral.record_uuid(kind, i, at_location=True) for kind, ids in kinds for i in ids
        ]
    if lowered in ("taxonomy_uuid", "term_id"):
        return [openreferral.TAXONOMY_ID, openreferral.term_id("faith"), "faith"]
    if lowered.startswith("service"):
        return services
    if lowered.startswith("change"):
        return list(session.scalars(select(PendingChange.id)))
    if lowered == "name":  # the method pages
        return list(method_docs.METHOD_DOCS)
    if lowered in ("id", "feature_id", "featureid", "item_id"):
        return [*group_ids, *services, *wards]
    if lowered == "token":  # an upload's: someone else's, or made up
        return ["A" * 22, "made-up"]
    if lowered.startswith("user"):
        return list(session.scalars(select(User.id)))
    if lowered.startswith("organisation"):
        return list(session.scalars(select(Organisation.id)))
    if lowered == "token_id":  # an API token's
        return list(session.scalars(select(ApiToken.id)))
    if lowered == "path":  # an OGC path with a trailing slash, redirected to the one without
        return ["collections", *(f"collections/{c}/items" for c in COLLECTIONS)]
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


def readable(response):
    """The text of an answer, a PDF's included."""
    if response.mimetype == "application/pdf":
        reader = PdfReader(io.BytesIO(response.get_data()))
        return "\n".join(page.extract_text() for page in reader.pages)
    return response.get_data(as_text=True)


def test_signed_out_nothing_personal_or_hidden_appears_anywhere(app, client, session, stored):
    secrets = needles(session)
    assert len(set(secrets.values())) >= 25  # users, coordinators, hidden groups, a change
    # Signed in as an admin, the hidden data is there (so the needles can be found) ...
    sign_in(client, stored["admin"].email)
    moderation = client.get("/moderation").get_data(as_text=True)
    assert "Quillfeather Pending Circle" in moderation and "secret.editor@lio.example" in moderation
    assert "secret.editor@lio.example" in client.get("/admin/users").get_data(as_text=True)
    ward_page = client.get(f"/wards/{stored['ward']}").get_data(as_text=True)
    assert "Quillfeather Partners Note" in ward_page
    # ... and signed out it is nowhere.
    sign_out(client)
    # A reader tells of a change, giving their address: it is a mail's Reply-To, shown nowhere.
    # The first active group by id: one the walk reads (parameter_values).
    active = select(CommunityGroup.id).where(CommunityGroup.status == "active")
    reported = session.scalars(active.order_by(CommunityGroup.id)).first()
    note = {"what": "changed", "note": "Quillfeather moved", "email": "secret.reader@home.example"}
    assert post_form(client, f"/groups/{reported}/report", note).status_code == 302
    secrets["secret.reader@home.example"] = "a reader's address"
    secrets["Quillfeather moved"] = "a reader's note"
    urls = public_urls(app, session)
    assert {"/", "/api/v1/groups", "/api/v1/wards", "/sign-in"} <= set(urls)
    assert f"/api/v1/groups/{stored['pending'].id}" in urls
    assert {"/review/E06999901.pdf", "/snapshots/1.geojson", "/decisions.csv"} <= set(urls)
    assert {"/notes.csv", "/notes.geojson", "/map/notes.geojson", "/notes/2"} <= set(urls)
    assert "/la/E06999901.pdf" in urls and any(
        u.startswith("/wards/") and u.endswith(".pdf") for u in urls
    )
    admin_pages = {"/admin/users", "/admin/organisations", "/admin/audit", "/account/tokens"}
    assert admin_pages | {f"/admin/users/{stored['editor'].id}"} <= set(urls)
    places = true_places(stored["sensitive"])
    secrets |= {f"{p.title()} Lane 12": f"the address of the {p} group" for p in places}
    statuses = {}
    for url, query in itertools.product(urls, QUERIES):
        response = client.get(url + query)
        assert response.status_code < 500, (url + query, response.status_code)
        text = readable(response) + str(response.headers)
        leaks = {secret for form, secret in secrets.items() if form in text}
        leaks |= {f"where {name} is" for name, found in places.items() if found.search(text)}
        assert not leaks, f"{url + query} shows {sorted(leaks)}"
        statuses[url + query] = response.status_code
    # the walk really read pages, not only errors
    assert statuses["/"] == statuses["/api/v1/groups"] == statuses["/sign-in"] == 200
    assert statuses[f"/api/v1/groups/{stored['pending'].id}"] == 404
    assert sum(status == 200 for status in statuses.values()) > 2 * len(QUERIES)
    # The services' pages and the tell-us form were read too.
    service = session.scalars(select(Service.id).where(Service.status == "active")).first()
    assert statuses[f"/services/{service}"] == statuses[f"/groups/{reported}/report"] == 200
    # The sensitive groups were published (so the walk read them), at their generalised place.
    answer = client.get("/api/v1/groups?limit=10000").get_json()["features"]
    published = {f["properties"]["name"]: f for f in answer}
    assert published["Safe House Hidden"]["geometry"] is None
    assert published["Safe House Approximate"]["geometry"]["type"] == "Point"
    for name in ("Safe House Hidden", "Safe House Approximate"):
        assert statuses[f"/groups/{published[name]['id']}"] == 200
    # ... and the needles find the true places where they are shown: to an admin's token.
    token = make_token(session, stored["admin"])
    shown = client.get("/api/v1/groups?limit=10000", headers=token).get_data(as_text=True)
    assert all(found.search(shown) for found in places.values())
