"""Use cases that change data: save wards, groups, services and coordinators; audit.

A group's or service's ward is derived from its location whenever it is flushed (see
`_derive_wards`), so no code path can type one in.
"""

import math
import re
import unicodedata
from datetime import timedelta
from difflib import SequenceMatcher
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import shapely
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import bindparam, event, func, inspect, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mapper import db, geo
from mapper.errors import Conflict, Forbidden, Invalid
from mapper.models import (
    AuditEvent,
    Category,
    CommunityGroup,
    IdempotencyKey,
    Organisation,
    PendingChange,
    Postcode,
    Service,
    Ward,
    utcnow,
)


def to_wkb_element(geom):
    """Return a shapely geometry as a GeoAlchemy2 element in EPSG:4326."""
    return from_shape(geom, srid=geo.SRID, extended=True)


def current_wards(session, lonlat_box=None):
    """Return (ids, codes, polygons) of the current wards, optionally only those in a box."""
    query = select(Ward.id, Ward.code, func.ST_AsBinary(Ward.geom)).where(Ward.current)
    if lonlat_box is not None:
        query = query.where(db.bbox_filter(Ward.geom, lonlat_box, session))
    rows = session.execute(query).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    codes = [r[1] for r in rows]
    polygons = shapely.from_wkb([r[2] for r in rows]) if rows else np.array([])
    return ids, codes, polygons


def locate_wards(session, points):
    """Return the current ward id for each shapely point (None where no ward covers it)."""
    points = np.asarray(points, dtype=object)
    if len(points) == 0:
        return []
    min_lon, min_lat, max_lon, max_lat = shapely.total_bounds(points)
    ids, codes, polygons = current_wards(session, (min_lon, min_lat, max_lon, max_lat))
    found = geo.locate(points, polygons, codes)
    return [int(ids[i]) if i >= 0 else None for i in found]


def find_ward(session, lonlat):
    """Return the current Ward a lon/lat point belongs to, or None."""
    (ward_id,) = locate_wards(session, [geo.lonlat_point(lonlat)])
    return session.get(Ward, ward_id) if ward_id is not None else None


@event.listens_for(Session, "before_flush")
def _derive_wards(session, _flush_context, _instances):
    """Set the ward of every new or moved group and service from its location."""
    moved = [
        obj
        for obj in (*session.new, *session.dirty)
        if isinstance(obj, CommunityGroup | Service)
        and (obj in session.new or inspect(obj).attrs.geom.history.has_changes())
    ]
    if not moved:
        return
    ward_ids = locate_wards(session, [to_shape(obj.geom) for obj in moved])
    for obj, ward_id in zip(moved, ward_ids, strict=True):
        obj.ward_id = ward_id


def reassign_wards(session):
    """Derive again the ward of every group and service; return how many moved."""
    moved = 0
    for model in (CommunityGroup, Service):
        rows = session.execute(select(model.id, model.ward_id, func.ST_AsBinary(model.geom))).all()
        if not rows:
            continue
        ward_ids = locate_wards(session, shapely.from_wkb([r[2] for r in rows]))
        changes = [
            {"id": r[0], "ward_id": w} for r, w in zip(rows, ward_ids, strict=True) if r[1] != w
        ]
        if changes:
            table = model.__table__
            session.execute(
                table.update()
                .where(table.c.id == bindparam("b_id"))
                .values(ward_id=bindparam("b_ward")),
                [{"b_id": c["id"], "b_ward": c["ward_id"]} for c in changes],
            )
        moved += len(changes)
    return moved


def record(session, action, entity, user=None, changes=None, reason=None):
    """Add an audit event for `entity`, which must already have an id."""
    session.add(
        AuditEvent(
            action=action,
            entity_type=entity.__tablename__,
            entity_id=entity.id,
            user_id=user.id if user else None,
            changes=changes,
            reason=reason,
        )
    )


def get_or_create_organisation(session, name, **values):
    """Return the organisation called `name`, creating it if needed."""
    organisation = session.scalar(select(Organisation).where(Organisation.name == name))
    if organisation is None:
        organisation = Organisation(name=name, **values)
        session.add(organisation)
    return organisation


def categories_by_slug(session, slugs):
    """Return the categories with these slugs; raise KeyError naming any unknown slug."""
    slugs = list(dict.fromkeys(slugs))
    found = {c.slug: c for c in session.scalars(select(Category).where(Category.slug.in_(slugs)))}
    unknown = [s for s in slugs if s not in found]
    if unknown:
        raise KeyError(", ".join(unknown))
    return [found[s] for s in slugs]


def current_wards_by_code(session, codes):
    """Return the current wards with these codes; raise KeyError naming any unknown code."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return []
    found = {
        w.code: w for w in session.scalars(select(Ward).where(Ward.current, Ward.code.in_(codes)))
    }
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise KeyError(", ".join(unknown))
    return [found[c] for c in codes]


def save_postcodes(session, rows):
    """Insert or update postcode centroids (dicts with postcode, lon, lat); return the count."""
    existing = {p.postcode: p for p in session.scalars(select(Postcode))}
    for row in rows:
        code = Postcode.normalise(row["postcode"])
        postcode = existing.get(code) or Postcode(postcode=code)
        postcode.lon, postcode.lat = float(row["lon"]), float(row["lat"])
        session.add(postcode)
    return len(rows)


def save_wards(session, frame):
    """Insert or update wards by (code, vintage) from a lon/lat GeoDataFrame.

    Columns: code, name, vintage, and optionally la_code, la_name, population and imd_*.
    Returns (added, updated); a ward that changes nothing is neither.
    """
    frame = frame.to_crs(geo.WGS84)
    geoms = [geo.repair(g)[0] for g in frame.geometry]
    areas = geo.areas_km2(gpd.GeoSeries(geoms, crs=geo.WGS84))
    existing = {
        (w.code, w.vintage): w
        for w in session.scalars(
            select(Ward).where(Ward.vintage.in_(set(frame["vintage"].astype(str))))
        )
    }
    columns = [c for c in frame.columns if c in Ward.__table__.columns and c != "geom"]
    added = updated = 0
    for row, geom, area in zip(frame.to_dict("records"), geoms, areas, strict=True):
        values = {c: _plain(row[c]) for c in columns}
        values["vintage"] = str(values["vintage"])
        values.update(
            geom=to_wkb_element(geom),
            label_point=to_wkb_element(shapely.point_on_surface(geom)),
            area_km2=float(area),
        )
        ward = existing.get((values["code"], values["vintage"]))
        if ward is None:
            session.add(Ward(**values))
            added += 1
        else:
            with session.no_autoflush:
                for key, value in values.items():
                    setattr(ward, key, value)
                updated += session.is_modified(ward)
    return added, updated


def _plain(value):
    """Turn numpy/pandas scalars and NaN into plain Python values for the database."""
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def save_located(session, model, records, organisation=None, user=None):
    """Insert or update groups, services or coordinators matched on `external_id`.

    Each record holds column values; geometry columns hold shapely geometries in lon/lat,
    `categories` holds category slugs, `wards_served` ward codes and `employer` an
    organisation's name. Returns (added, updated); a record that changes nothing is neither.
    """
    geometry_columns = {c.name for c in model.__table__.columns if hasattr(c.type, "srid")}
    external_ids = [r["external_id"] for r in records if r.get("external_id")]
    existing = {
        obj.external_id: obj
        for obj in session.scalars(select(model).where(model.external_id.in_(external_ids)))
    }
    saved = []
    for row in records:
        values = dict(row)
        for column in geometry_columns & values.keys():
            if values[column] is not None:
                values[column] = to_wkb_element(values[column])
        if "categories" in values:
            values["categories"] = categories_by_slug(session, values["categories"])
        if "wards_served" in values:
            values["wards_served"] = current_wards_by_code(session, values["wards_served"])
        if values.get("employer"):
            values["employer"] = get_or_create_organisation(session, values["employer"])
        obj = existing.get(values.get("external_id"))
        if obj is None:
            obj = model(**values)
            if organisation is not None:
                obj.organisation = organisation
            session.add(obj)
            saved.append(("create", obj))
        else:
            # No autoflush: loading the old categories would flush the new name first and
            # hide the change from is_modified.
            with session.no_autoflush:
                for key, value in values.items():
                    setattr(obj, key, value)
                if session.is_modified(obj):
                    saved.append(("update", obj))
    session.flush()
    for action, obj in saved:
        record(session, action, obj, user=user, changes={"source": "import"})
    added = sum(1 for action, _ in saved if action == "create")
    return added, len(saved) - added


# Community groups: registration, editing, moderation, freshness --------------------------

GROUP_KINDS = (
    "charity",
    "cic",
    "community association",
    "faith group",
    "informal group",
    "mutual aid",
)
DUPLICATE_RADIUS_M = 250
STALE_AFTER = timedelta(days=365)
POSTCODE_FORMAT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")
CHARITY_NUMBER_FORMAT = re.compile(r"^(SC|NIC?)?\d{5,8}(-\d{1,2})?$")
# The text fields of a group by the name the API and the forms use: (column, longest).
GROUP_TEXT_FIELDS = {
    "name": ("name", 300),
    "description": ("description", 5000),
    "kind": ("kind", 60),
    "address": ("address", 500),
    "website": ("website", 500),
    "contact": ("contact_public", 300),
    "meeting_times": ("meeting_times", 1000),
    "charity_number": ("charity_number", 20),
}
GROUP_FIELDS = (*GROUP_TEXT_FIELDS, "categories", "wards_served", "postcode", "lon", "lat")
# Fields a client may read but never send: derived from the location, or set by moderation.
GROUP_READ_ONLY = (
    "id",
    "ward",
    "ward_code",
    "ward_name",
    "status",
    "organisation",
    "last_verified",
    "active_from",
    "active_until",
    "close_reason",
    "created_at",
    "updated_at",
)
# Words that say nothing about which group it is, ignored when comparing names.
GENERIC_NAME_WORDS = {
    "a",
    "and",
    "association",
    "cic",
    "club",
    "community",
    "group",
    "limited",
    "ltd",
    "of",
    "society",
    "the",
}


def today():
    return utcnow().date()


class LikelyDuplicate(Conflict):
    """A group with a similar name is already registered close by."""

    code = "duplicate"

    def __init__(self, duplicates):
        self.duplicates = duplicates
        names = "; ".join(f"'{g.name}' (id {g.id}, {m:.0f} m away)" for g, m in duplicates)
        super().__init__(
            f"A group with a similar name is registered within {DUPLICATE_RADIUS_M} m: {names}. "
            "Confirm that this is a different group to save it.",
            fields={"name": f"similar to {names}"},
        )


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
        raise Forbidden(f"Group {group.id} belongs to another organisation.")


def _require_open(group):
    if group.status == "closed":
        raise Conflict(f"Group {group.id} is closed; it is kept for history and cannot change.")


def _text(value, longest):
    """Return (stripped text or None, reason it is not acceptable or None)."""
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, "must be text"
    value = value.strip()
    if len(value) > longest:
        return None, f"must be at most {longest} characters"
    return value or None, None


def _slugs(value, upper=False):
    """Return (sorted unique list of strings, reason) from a list (API) or list of form values."""
    if value is None:
        return [], None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None, "must be a list of text values"
    items = {v.strip().upper() if upper else v.strip() for v in value if v.strip()}
    return sorted(items), None


def _clean_list(session, data, field, errors, values):
    """Check `categories` (slugs) or `wards_served` (ward codes) against what is stored."""
    wards = field == "wards_served"
    items, reason = _slugs(data.get(field), upper=wards)
    if reason is None and not wards and not items:
        reason = "choose at least one category"
    if reason is None:
        try:
            (current_wards_by_code if wards else categories_by_slug)(session, items)
        except KeyError as unknown:
            reason = f"unknown {'ward code' if wards else 'category'}: {unknown.args[0]}"
    if reason:
        errors[field] = reason
    else:
        values[field] = items


def _number(value):
    """Return (float, reason) from a JSON number or a form's text."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None, "must be a number"
    try:
        number = float(value)
    except ValueError:
        return None, "must be a number"
    if not math.isfinite(number):
        return None, "must be a finite number"
    return number, None


def _check_lonlat(session, lonlat):
    """Return {field: reason} for a lon/lat point that is not inside a known ward."""
    lon, lat = lonlat
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        if geo.looks_like_bng(lon, lat):
            reason = (
                "looks like British National Grid easting/northing in metres; "
                "send WGS84 longitude and latitude"
            )
            return {"lon": reason, "lat": reason}
        errors = {}
        if not -180 <= lon <= 180:
            errors["lon"] = "must be a WGS84 longitude between -180 and 180"
        if not -90 <= lat <= 90:
            errors["lat"] = "must be a WGS84 latitude between -90 and 90"
        return errors
    if find_ward(session, lonlat) is not None:
        return {}
    if -90 <= lon <= 90 and find_ward(session, (lat, lon)) is not None:
        return {"location": "is outside every known ward; longitude and latitude look swapped"}
    return {"location": "is outside every known ward"}


def _clean_location(session, data, partial, errors):
    """Return the [lon, lat] the data gives (by lon/lat, else by postcode), or None."""
    given = {k: data.get(k) for k in ("lon", "lat") if data.get(k) not in (None, "")}
    if given:
        for key in ("lon", "lat"):
            if key not in given:
                errors[key] = "is required with " + ("lat" if key == "lon" else "lon")
        numbers = {}
        for key, value in given.items():
            numbers[key], reason = _number(value)
            if reason:
                errors[key] = reason
        if any(k in errors for k in ("lon", "lat")):
            return None
        lonlat = [
            round(numbers["lon"], geo.COORDINATE_DECIMALS),
            round(numbers["lat"], geo.COORDINATE_DECIMALS),
        ]
        problems = _check_lonlat(session, lonlat)
        errors.update(problems)
        return None if problems else lonlat
    postcode = data.get("postcode")
    if isinstance(postcode, str) and postcode.strip() and "postcode" not in errors:
        found = session.get(Postcode, Postcode.normalise(postcode))
        if found is None:
            errors["postcode"] = "is not in the postcode directory"
            return None
        lonlat = [
            round(found.lon, geo.COORDINATE_DECIMALS),
            round(found.lat, geo.COORDINATE_DECIMALS),
        ]
        if _check_lonlat(session, lonlat):
            errors["postcode"] = "is outside every known ward"
            return None
        return lonlat
    if not partial and "postcode" not in errors:
        errors["location"] = "give a longitude and latitude, or a postcode"
    return None


def clean_group(session, data, partial=False):
    """Check a group as sent by a form or the API; return the values to store.

    Raises Invalid naming every bad field. With `partial` (an edit) only the fields sent are
    checked and returned. The values are plain JSON (a PendingChange holds them): `lonlat`
    stands for lon/lat or the postcode's centroid, lists are sorted slugs and ward codes.
    """
    if not isinstance(data, dict):
        raise Invalid("A group must be a JSON object.", fields={"body": "must be an object"})
    errors, values = {}, {}
    for key in data:
        if key in GROUP_READ_ONLY:
            errors[key] = "cannot be set: it is derived or decided by moderation"
        elif key not in GROUP_FIELDS:
            errors[key] = "is not a field of a group"
    for field, (_column, longest) in GROUP_TEXT_FIELDS.items():
        if field not in data:
            continue
        value, reason = _text(data[field], longest)
        if value is not None and reason is None:
            value, reason = _normalise_text(field, value)
        if reason:
            errors[field] = reason
        else:
            values[field] = value
    if (not partial or "name" in data) and values.get("name") is None and "name" not in errors:
        errors["name"] = "is required"
    if "postcode" in data:
        postcode, reason = _text(data["postcode"], 20)
        if postcode is not None:
            postcode = Postcode.normalise(postcode)
            reason = reason or (None if POSTCODE_FORMAT.match(postcode) else "is not a UK postcode")
        if reason:
            errors["postcode"] = reason
        else:
            values["postcode"] = postcode
    if not partial or "categories" in data:
        _clean_list(session, data, "categories", errors, values)
    if "wards_served" in data:
        _clean_list(session, data, "wards_served", errors, values)
    lonlat = _clean_location(session, data, partial, errors)
    if lonlat is not None:
        values["lonlat"] = lonlat
    if errors:
        raise Invalid(
            "The group has invalid fields: " + ", ".join(sorted(errors)) + ".", fields=errors
        )
    return values


def _normalise_text(field, value):
    """Return (value in its stored form, reason it is not acceptable) for a text field."""
    if field == "kind":
        value = value.lower()
        if value not in GROUP_KINDS:
            return None, "must be one of: " + ", ".join(GROUP_KINDS)
    if field == "website":
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or "." not in parts.netloc or " " in value:
            return None, "must be a web address starting with http:// or https://"
    if field == "charity_number":
        value = value.upper().replace(" ", "")
        if not CHARITY_NUMBER_FORMAT.match(value):
            return None, "is not a charity number such as 1234567 or SC012345"
    return value, None


def group_snapshot(group):
    """Return a group's editable fields as plain JSON values, by the names `clean_group` uses."""
    snapshot = {field: getattr(group, column) for field, (column, _) in GROUP_TEXT_FIELDS.items()}
    point = to_shape(group.geom) if group.geom is not None else None
    snapshot.update(
        postcode=group.postcode,
        categories=sorted(c.slug for c in group.categories),
        wards_served=sorted(w.code for w in group.wards_served),
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
            elif field == "postcode":
                group.postcode = value
            else:
                setattr(group, GROUP_TEXT_FIELDS[field][0], value)
    return changes


def _name_key(name):
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = text.casefold().replace("&", " and ").replace("'", "").replace("\u2019", "")
    return " ".join(w for w in re.findall(r"[a-z0-9]+", text) if w not in GENERIC_NAME_WORDS)


def similar_names(a, b):
    """Tell whether two group names probably name the same group."""
    a, b = _name_key(a), _name_key(b)
    if re.findall(r"\d+", a) != re.findall(r"\d+", b):  # 1st and 2nd Scouts differ
        return False
    return a == b or SequenceMatcher(None, a, b).ratio() >= 0.85


def likely_duplicates(session, name, lonlat, exclude_id=None):
    """Return [(group, metres)] of groups not closed with a similar name within 250 m."""
    lon, lat = lonlat
    half_height = DUPLICATE_RADIUS_M / 111_000  # degrees of latitude, a little generous
    half_width = half_height / max(math.cos(math.radians(lat)), 0.01)
    box = (
        max(lon - half_width, -180),
        max(lat - half_height, -90),
        min(lon + half_width, 180),
        min(lat + half_height, 90),
    )
    rows = session.execute(
        select(CommunityGroup, func.ST_X(CommunityGroup.geom), func.ST_Y(CommunityGroup.geom))
        .where(db.bbox_filter(CommunityGroup.geom, box, session))
        .where(CommunityGroup.status != "closed", CommunityGroup.id != (exclude_id or 0))
        .order_by(CommunityGroup.id)
    ).all()
    found = []
    for group, x, y in rows:
        metres = geo.distance_m(lonlat, (x, y))
        if metres <= DUPLICATE_RADIUS_M and similar_names(name, group.name):
            found.append((group, metres))
    return sorted(found, key=lambda pair: pair[1])


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
                duplicates = likely_duplicates(session, values["name"], values["lonlat"])
                if duplicates:
                    raise LikelyDuplicate(duplicates)
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
            proposal = PendingChange(
                group_id=group.id,
                user_id=user.id,
                changes={field: values[field] for field in changes},
            )
            session.add(proposal)
            session.flush()
            record(session, "propose", group, user=user, changes=changes)
            return proposal
        _apply(session, group, {field: values[field] for field in changes})
        record(session, "update", group, user=user, changes=changes)
    return None


def _reason(reason):
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise Invalid("Give a reason.", fields={"reason": "is required"})
    return reason


def _set_status(session, user, group, action, status, reason=None, **values):
    """Move a group to `status` in its own transaction and record `action`."""
    changes = {"status": {"from": group.status, "to": status}}
    with db.transaction(session):
        group.status = status
        for key, value in values.items():
            setattr(group, key, value)
        record(session, action, group, user=user, changes=changes, reason=reason)
    return group


def approve_group(session, user, group):
    """Make a pending group active (admins only)."""
    _require_admin(user, "approve groups")
    if group.status != "pending":
        raise Conflict(f"Group {group.id} is {group.status}, not waiting for approval.")
    return _set_status(
        session, user, group, "approve", "active", active_from=group.active_from or today()
    )


def reject_group(session, user, group, reason):
    """Refuse a pending group with a reason; it is closed, never deleted (admins only)."""
    _require_admin(user, "reject groups")
    reason = _reason(reason)
    if group.status != "pending":
        raise Conflict(f"Group {group.id} is {group.status}, not waiting for approval.")
    return _set_status(session, user, group, "reject", "closed", reason, close_reason=reason)


def close_group(session, user, group, reason):
    """Close a group with a reason; it stays for history and leaves the map."""
    _require_may_edit(user, group)
    reason = _reason(reason)
    _require_open(group)
    until = today() if group.status == "active" else group.active_until
    return _set_status(
        session, user, group, "close", "closed", reason, close_reason=reason, active_until=until
    )


def mark_verified(session, user, group):
    """Record that someone checked the group's details today."""
    _require_may_edit(user, group)
    _require_open(group)
    with db.transaction(session):
        changes = {"last_verified": {"from": _iso(group.last_verified), "to": today().isoformat()}}
        group.last_verified = today()
        record(session, "verify", group, user=user, changes=changes)
    return group


def _iso(day):
    return day.isoformat() if day else None


def approve_change(session, user, proposal):
    """Apply an edit that waited for approval (admins only)."""
    _require_admin(user, "approve changes")
    _require_undecided(proposal)
    group = proposal.group
    _require_open(group)
    with db.transaction(session):
        try:
            changes = _apply(session, group, proposal.changes)
        except KeyError as unknown:
            raise Conflict(f"The change names something that no longer exists: {unknown}") from None
        proposal.status, proposal.decided_by_id, proposal.decided_at = "approved", user.id, utcnow()
        record(session, "approve_change", group, user=user, changes=changes)
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
    return proposal


def _require_undecided(proposal):
    if proposal.status != "pending":
        raise Conflict(f"Change {proposal.id} was already {proposal.status}.")


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


def group_history(session, group):
    """Return the audit events of a group, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == CommunityGroup.__tablename__)
            .where(AuditEvent.entity_id == group.id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )
