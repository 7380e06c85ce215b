"""Partners' intelligence: notes that editors and administrators post on a ward.

Partners are every signed-in user (editors and administrators): users belong to an
organisation, and organisations are not tied to a local authority, so every partner sees the
notes of every local authority. A note is partners-only unless its author makes it public;
its replies are for partners always. Partners reply, resolve and reopen notes, and follow a
ward to be sent an email on each new note. Every step is an audit event.
"""

import math
import re
from datetime import UTC, date, datetime

import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from mapper.core import audit, mail
from mapper.errors import Conflict, Forbidden, Invalid, NotFound
from mapper.store import db, queries
from mapper.store.models import ROLES, User, utcnow
from mapper.store.notes import NOTE_VISIBILITIES, NoteReply, WardNote, WardSubscription

TEXT_LIMIT = 5000
FIELDS = ("text", "categories", "lon", "lat", "review_on", "visibility")
GSS_CODE = re.compile(r"^[EWSNK]\d{8}$")
PREFERENCES_PATH = "/account/notifications"


def today():
    """Return today's date in UTC."""
    return datetime.now(UTC).date()


def is_partner(user):
    """Tell whether `user` is a partner: a signed-in editor or administrator."""
    return user is not None and user.active and user.role in ROLES


def _require_partner(user):
    if not is_partner(user):
        raise Forbidden("Sign in as a partner (an editor or administrator) to do this.")


def find_ward(session, code):
    """Return (ward, shapely geometry) of the current ward `code`; NotFound otherwise."""
    code = str(code or "").strip().upper()
    found = queries.wards(session, codes=[code]) if GSS_CODE.match(code) else []
    if not found:
        raise NotFound(f"There is no current ward {code}.")
    return found[0]


def _text(value, name, errors):
    text = str(value or "").strip()
    if not text:
        errors[name] = "is required"
    elif len(text) > TEXT_LIMIT:
        errors[name] = f"must be at most {TEXT_LIMIT} characters"
    return text


def _categories(session, data, errors):
    raw = data.get("categories") or []
    raw = [raw] if isinstance(raw, str) else list(raw)
    vocabulary = queries.category_vocabulary(session)
    slugs, unknown = [], []
    for item in (str(r).strip() for r in raw):
        if item:
            slug = vocabulary.get(item.lower())
            (slugs if slug else unknown).append(slug or item)
    if unknown:
        errors["categories"] = f"not known categories: {', '.join(unknown)}"
    return sorted(set(slugs))


def _number(data, name, low, high, errors):
    raw = str(data.get(name) or "").strip()
    try:
        value = float(raw)
    except ValueError:
        errors[name] = f"'{raw}' is not a number"
        return None
    if not math.isfinite(value) or not low <= value <= high:
        errors[name] = f"must be a WGS84 {'longitude' if name == 'lon' else 'latitude'} "
        errors[name] += f"between {low} and {high}"
        return None
    return value


def _point(data, ward_geom, errors):
    """The note's optional point: both lon and lat, inside its ward, or neither."""
    given = [name for name in ("lon", "lat") if str(data.get(name) or "").strip()]
    if not given:
        return None
    if len(given) == 1:
        missing = "lat" if given == ["lon"] else "lon"
        errors[missing] = "is required when a point is given (or leave both blank)"
        return None
    lon = _number(data, "lon", -180, 180, errors)
    lat = _number(data, "lat", -90, 90, errors)
    if lon is None or lat is None:
        return None
    point = shapely.Point(lon, lat)
    if not ward_geom.covers(point):
        errors["lon"] = "the point is outside the ward; leave it blank or choose one inside"
        return None
    return point


def _review_on(data, errors):
    raw = str(data.get("review_on") or "").strip()
    if not raw:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            day = date.fromisoformat(raw)
            if day < today():
                errors["review_on"] = "cannot be in the past"
            return day
    except ValueError:
        pass
    errors["review_on"] = f"'{raw}' is not a date in YYYY-MM-DD form"
    return None


def clean_note(session, ward_geom, data):
    """Return the values of a note from submitted data; Invalid names every field wrong."""
    errors = {name: "is not a field of a note" for name in sorted(set(data) - set(FIELDS))}
    values = {
        "text": _text(data.get("text"), "text", errors),
        "categories": _categories(session, data, errors),
        "point": _point(data, ward_geom, errors),
        "review_on": _review_on(data, errors),
    }
    visibility = str(data.get("visibility") or "partners").strip()
    if visibility not in NOTE_VISIBILITIES:
        errors["visibility"] = f"choose one of {', '.join(NOTE_VISIBILITIES)}"
    values["visibility"] = visibility
    if errors:
        raise Invalid("The note has errors.", fields=errors)
    return values


def _audited(note):
    """The values of a note an audit event records."""
    return {
        "ward_code": note.ward_code,
        "text": note.text,
        "categories": note.categories,
        "point": None if note.geom is None else list(to_shape(note.geom).coords[0]),
        "review_on": note.review_on.isoformat() if note.review_on else None,
        "visibility": note.visibility,
    }


def post_note(session, user, ward_code, data):
    """Post a note on a current ward; email the ward's other followers. Returns the note."""
    _require_partner(user)
    ward, geom = find_ward(session, ward_code)
    values = clean_note(session, geom, data)
    point = values.pop("point")
    session.rollback()  # end the reading; nothing was written
    with db.write_transaction(session):
        note = WardNote(
            **values,
            ward_code=ward.code,
            ward_name=ward.name,
            la_code=ward.la_code,
            la_name=ward.la_name,
            geom=None if point is None else db.to_wkb_element(point),
            status="open",
            author_id=user.id,
        )
        session.add(note)
        session.flush()
        audit.record(session, "post", note, user=user, changes=_audited(note))
        _tell_followers(session, note, user)
    return note


def _tell_followers(session, note, author):
    """Queue an email about a new note to every active follower of its ward but its author."""
    followers = session.scalars(
        select(User)
        .join(WardSubscription, WardSubscription.user_id == User.id)
        .where(WardSubscription.ward_code == note.ward_code, User.id != author.id)
        .where(User.active)
        .order_by(User.id)
    )
    who = author.organisation.name if author.organisation else "A partner"
    seen = "everyone (public)" if note.visibility == "public" else "partners only"
    for follower in followers:
        paragraphs = [
            f"{who} posted a note on {note.ward_name} ({note.ward_code}), seen by {seen}:",
            note.text,
        ]
        if note.review_on:
            paragraphs.append(f"To be reviewed on {note.review_on.isoformat()}.")
        paragraphs.append(
            "You are sent this because you follow this ward; stop on the ward's page, "
            "or turn these emails off on your notification settings page."
        )
        mail.queue(
            session,
            follower.email,
            f"New note on {note.ward_name}",
            paragraphs,
            [
                ("See the note", f"/notes/{note.id}"),
                ("The ward", f"/wards/{note.ward_code}"),
                ("Your notification settings", PREFERENCES_PATH),
            ],
            kind="notification",
            user=follower,
        )


def reply(session, user, note, text):
    """Add a partner's reply to a note; returns the reply."""
    _require_partner(user)
    errors = {}
    text = _text(text, "text", errors)
    if errors:
        raise Invalid("The reply has errors.", fields=errors)
    session.rollback()
    with db.write_transaction(session):
        session.refresh(note)
        answer = NoteReply(note_id=note.id, author_id=user.id, text=text)
        session.add(answer)
        session.flush()
        audit.record(session, "reply", note, user=user, changes={"reply": answer.id, "text": text})
    return answer


def set_resolved(session, user, note, resolved):
    """Resolve an open note, or reopen a resolved one (partners)."""
    _require_partner(user)
    wanted = "resolved" if resolved else "open"
    session.rollback()  # read it again once it is ours to write: another partner may be first
    with db.write_transaction(session):
        session.refresh(note)
        if note.status == wanted:
            raise Conflict(f"Note {note.id} is {note.status} already.")
        before, note.status = note.status, wanted
        note.resolved_at = utcnow() if resolved else None
        note.resolved_by_id = user.id if resolved else None
        changes = {"status": {"from": before, "to": wanted}}
        audit.record(session, "resolve" if resolved else "reopen", note, user=user, changes=changes)
    return note


def visible_filter(user):
    """The WHERE clauses choosing the notes `user` may see: public ones unless a partner."""
    return [] if is_partner(user) else [WardNote.visibility == "public"]


def visible_notes(session, user, la_codes=(), ward_codes=()):
    """Return the notes the user may see, open first then newest, by local authority or ward."""
    query = (
        select(WardNote)
        .where(*visible_filter(user))
        .options(selectinload(WardNote.replies), selectinload(WardNote.author))
        .order_by(WardNote.status, WardNote.created_at.desc(), WardNote.id.desc())
    )
    if la_codes:
        query = query.where(WardNote.la_code.in_(list(la_codes)))
    if ward_codes:
        query = query.where(WardNote.ward_code.in_(list(ward_codes)))
    return list(session.scalars(query))


def get_note(session, user, note_id):
    """Return a note the user may see; NotFound otherwise (a partners-only note too)."""
    note = session.scalar(select(WardNote).where(WardNote.id == note_id, *visible_filter(user)))
    if note is None:
        raise NotFound(f"There is no note {note_id}.")
    return note


def replies_for(user, note):
    """Return the replies of a note `user` may read: all for partners, none for others."""
    return list(note.replies) if is_partner(user) else []


def follows(session, user, ward_code):
    """Tell whether the user follows the ward."""
    if not is_partner(user):
        return False
    return session.get(WardSubscription, (user.id, ward_code)) is not None


def follow(session, user, ward_code, wanted=True):
    """Start (or with `wanted` False, stop) sending the user an email on each new note."""
    _require_partner(user)
    ward, _geom = find_ward(session, ward_code)
    session.rollback()
    with db.write_transaction(session):
        existing = session.get(WardSubscription, (user.id, ward.code))
        if wanted and existing is None:
            session.add(WardSubscription(user_id=user.id, ward_code=ward.code))
        elif not wanted and existing is not None:
            session.delete(existing)
        else:
            return ward
        changes = {"ward_code": ward.code, "follows": bool(wanted)}
        audit.record(session, "follow" if wanted else "unfollow", user, user=user, changes=changes)
    return ward


def point_of(note):
    """Return the note's point (lon/lat shapely Point), or None when it has none."""
    return None if note.geom is None else to_shape(note.geom)
