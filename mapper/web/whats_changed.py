"""Blueprint `whats_changed`: the groups that started, closed or changed since a date, as a
page and as feeds (Atom, JSON Feed 1.1), per local authority (`la`) and ward (`ward`)."""

from datetime import UTC, datetime, time

from flask import Blueprint, Response, render_template, request, url_for
from sqlalchemy import select

from mapper.core import movement
from mapper.http import params
from mapper.io import feeds
from mapper.store.db import get_session
from mapper.store.models import Ward

whats_changed = Blueprint("whats_changed", __name__)

PER_PAGE = 100
FEED_LIMIT = 100  # a feed holds the newest entries; the page pages through every one
FEED_AUTHOR = "Community Mapper"
CHANGE_WORDS = {
    "started": "Added",
    "reopened": "Reopened",
    "closed": "Closed",
    "changed": "Changed",
}


def _query(allowed):
    """Return (since, la codes, ward codes, the query to repeat) of the request."""
    args = request.args
    params.only(args, *allowed)
    since = params.iso_date(args, "since")
    if since is None:
        since = movement.default_since()
    movement.check_since(since)
    scope = {"la": params.codes(args, "la"), "ward": params.codes(args, "ward")}
    for name, column in (("la", Ward.la_code), ("ward", Ward.code)):
        if scope[name]:
            known = set(get_session().scalars(select(column).where(column.in_(scope[name]))))
            unknown = [code for code in scope[name] if code not in known]
            if unknown:
                raise params.bad(name, f"no ward or local authority has code {unknown[0]}")
    query = {"since": since.isoformat()}
    query.update({name: ",".join(codes) for name, codes in scope.items() if codes})
    return since, scope, query


def _scope_name(scope):
    """Return the place the page is about, in words: "Eastmere", "Ashcombe (Eastmere)"."""
    codes = scope["ward"] or scope["la"]
    if not codes:
        return "every area"
    column = Ward.code if scope["ward"] else Ward.la_code
    rows = get_session().execute(
        select(Ward.code, Ward.name, Ward.la_code, Ward.la_name)
        .where(column.in_(codes))
        .where(Ward.current.is_(True))
    )
    names = {}
    for code, name, la_code, la_name in rows:
        if scope["ward"]:
            names[code] = f"{name} ({la_name})" if la_name else name
        else:
            names[la_code] = la_name or la_code
    return ", ".join(names.get(code, code) for code in codes)


def _entries(since, scope):
    return movement.changes_since(
        get_session(), since, la_codes=scope["la"], ward_codes=scope["ward"]
    )


def entry_url(entry):
    """Return the public page of an entry: its group's while active, else its ward's."""
    if entry.group_status == "active":
        return url_for("web.group_page", group_id=entry.group_id, _external=True)
    if entry.ward_code:
        return url_for("web.ward_page", code=entry.ward_code, _external=True)
    return url_for("whats_changed.page", _external=True)


def feed_links(query):
    """Return {"atom": URL, "json": URL} of the feeds of this query (for <link> and links)."""
    return {
        "atom": url_for("whats_changed.atom_feed", **query),
        "json": url_for("whats_changed.json_feed", **query),
    }


@whats_changed.get("/whats-changed")
def page():
    """The page: every change since the day (`since`, YYYY-MM-DD; four weeks by default)."""
    since, scope, query = _query(("since", "la", "ward", "page"))
    number = params.integer(request.args, "page", 1, minimum=1, cap=True)
    shown = movement.paged(_entries(since, scope), number, PER_PAGE)
    return render_template(
        "whats_changed.html",
        since=since,
        scope=scope,
        query=query,
        place=_scope_name(scope),
        shown=shown,
        urls={entry.event_id: entry_url(entry) for entry in shown.entries},
        change_words=CHANGE_WORDS,
        feeds=feed_links(query),
    )


def _feed(since, scope, query, endpoint):
    entries = _entries(since, scope)[:FEED_LIMIT]
    place = _scope_name(scope)
    updated = entries[0].at if entries else datetime.combine(since, time(), UTC)
    return {
        "id": url_for(endpoint, _external=True, **query),
        "title": f"What changed: community groups in {place}",
        "subtitle": f"Groups added to the map, closed or changed since {since:%-d %B %Y}.",
        "updated": updated,
        "feed_url": url_for(endpoint, _external=True, **query),
        "home_page_url": url_for("whats_changed.page", _external=True, **query),
        "author": FEED_AUTHOR,
        "entries": [
            {
                "id": url_for("web.group_page", group_id=e.group_id, _external=True)
                + f"#change-{e.event_id}",
                "title": f"{CHANGE_WORDS[e.change]}: {e.group_name}",
                "url": entry_url(e),
                "updated": e.at,
                "text": e.words + (f" Ward: {e.ward_name}." if e.ward_name else ""),
            }
            for e in entries
        ],
    }


@whats_changed.get("/whats-changed.atom")
def atom_feed():
    """The newest changes as an Atom feed."""
    since, scope, query = _query(("since", "la", "ward"))
    body = feeds.atom(_feed(since, scope, query, "whats_changed.atom_feed"))
    return Response(body, mimetype=feeds.ATOM_MIMETYPE)


@whats_changed.get("/whats-changed.json")
def json_feed():
    """The newest changes as a JSON Feed 1.1."""
    since, scope, query = _query(("since", "la", "ward"))
    body = feeds.json_feed_text(_feed(since, scope, query, "whats_changed.json_feed"))
    return Response(body, mimetype=feeds.JSON_FEED_MIMETYPE)


def init_app(app):
    """Register the page and its feeds."""
    app.register_blueprint(whats_changed)
