"""Use cases that change data: save wards, groups, services and coordinators; audit.

A group's or service's ward is derived from its location whenever it is flushed (see
`_derive_wards`), so no code path can type one in.
"""

import dataclasses
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from difflib import SequenceMatcher
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import shapely
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import bindparam, event, func, insert, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from mapper import db, geo, queries
from mapper.errors import Conflict, Forbidden, Invalid
from mapper.models import (
    AuditEvent,
    Category,
    CommunityGroup,
    Coordinator,
    IdempotencyKey,
    Organisation,
    PendingChange,
    Postcode,
    Service,
    Ward,
    location_column,
    utcnow,
)

# Records without an external id are the same record when their names are equal and their
# locations this close (postcode centroids and geocoders disagree by a few metres).
MATCH_METRES = 5.0
# A ward is replaced by wards of a newer vintage that cover more than this share of it.
SUPERSEDED_SHARE = 0.5
# The number of LSOAs ranked by IMD 2015 and 2019 in England (LSOA 2011).
ENGLAND_LSOAS = 32_844


def to_wkb_element(geom):
    """Return a shapely geometry as a GeoAlchemy2 element in EPSG:4326, on the stored grid."""
    return from_shape(geo.on_grid(geom), srid=geo.SRID, extended=True)


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


def update_coordinator_coverage(session, lonlat_box=None):
    """Recompute `Ward.coordinator_coverage` of the wards meeting a box (all without one).

    Bulk paths that write coordinators or wards with Core statements call this themselves;
    ORM changes are caught by the flush hooks below. Returns how many wards were measured.
    """
    query = select(Ward.id, func.ST_AsBinary(Ward.geom))
    if lonlat_box is not None:
        query = query.where(db.bbox_filter(Ward.geom, lonlat_box, session))
    rows = session.execute(query).all()
    if not rows:
        return 0
    polygons = shapely.from_wkb([r[1] for r in rows])
    patches = session.scalars(
        select(func.ST_AsBinary(Coordinator.patch)).where(
            Coordinator.patch.is_not(None),
            db.bbox_filter(Coordinator.patch, shapely.total_bounds(polygons), session),
        )
    ).all()
    shares = geo.coverage_shares(polygons, shapely.from_wkb(patches))
    table = Ward.__table__
    session.execute(
        table.update()
        .where(table.c.id == bindparam("b_id"))
        .values(coordinator_coverage=bindparam("b_share")),
        [{"b_id": r[0], "b_share": float(s)} for r, s in zip(rows, shares, strict=True)],
    )
    for (ward_id, _), share in zip(rows, shares, strict=True):
        ward = session.identity_map.get(identity_key(Ward, ward_id))
        if ward is not None:
            set_committed_value(ward, "coordinator_coverage", float(share))
    return len(rows)


@event.listens_for(Session, "before_flush")
def _note_coverage_changes(session, _flush_context, _instances):
    """Remember where coordinators' patches or wards' boundaries change in this flush."""
    changed = []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Coordinator):
            attribute, history = "patch", inspect(obj).attrs.patch.history
        elif isinstance(obj, Ward):
            attribute, history = "geom", inspect(obj).attrs.geom.history
        else:
            continue
        if obj in session.dirty and not history.has_changes():
            continue
        values = [*history.deleted, getattr(obj, attribute)]
        changed += [to_shape(v) for v in values if v is not None]
    if changed:
        session.info.setdefault("coverage_changes", []).extend(changed)


@event.listens_for(Session, "after_flush_postexec")
def _update_coverage(session, _flush_context):
    changed = session.info.pop("coverage_changes", None)
    if changed:
        update_coordinator_coverage(session, shapely.total_bounds(changed))


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
    """Insert or update postcode centroids (dicts with postcode, lon, lat).

    Returns (added, updated); a postcode whose centroid is unchanged is neither.
    """
    wanted = {Postcode.normalise(r["postcode"]): (float(r["lon"]), float(r["lat"])) for r in rows}
    stored = queries.postcode_lonlats(session, wanted)
    new = [
        {"postcode": code, "lon": lon, "lat": lat}
        for code, (lon, lat) in wanted.items()
        if code not in stored
    ]
    moved = [
        {"postcode": code, "lon": lon, "lat": lat}
        for code, (lon, lat) in wanted.items()
        if code in stored and stored[code] != (lon, lat)
    ]
    if new:
        session.execute(insert(Postcode), new)
    if moved:
        session.execute(update(Postcode), moved)
    return len(new), len(moved)


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
            select(Ward).where(
                Ward.vintage.in_(set(frame["vintage"].astype(str))),
                Ward.code.in_(set(frame["code"])),
            )
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


def save_located(session, model, records, organisation=None, user=None, defaults=None):
    """Insert or update groups, services or coordinators.

    A record is the stored one with its `external_id`; one without is the stored one, also
    without, that has the same name within MATCH_METRES of its location. Each record holds
    column values; geometry columns hold shapely geometries in lon/lat, `categories` holds
    category slugs, `wards_served` ward codes and `employer` an organisation's name.
    `defaults` (such as a status) and `organisation` are set only on the records created.
    Returns (added, updated); a record that changes nothing is neither.
    """
    geometry_columns = {c.name for c in model.__table__.columns if hasattr(c.type, "srid")}
    matcher = _Matcher(session, model, records)
    saved, seen = [], set()
    for row in records:
        values = dict(row)
        obj = matcher.find(values)
        for column in geometry_columns & values.keys():
            if values[column] is not None:
                values[column] = to_wkb_element(values[column])
        if "categories" in values:
            values["categories"] = categories_by_slug(session, values["categories"])
        if "wards_served" in values:
            values["wards_served"] = current_wards_by_code(session, values["wards_served"])
        if values.get("employer"):
            values["employer"] = get_or_create_organisation(session, values["employer"])
        if obj is None:
            given = {key: value for key, value in values.items() if value is not None}
            obj = model(**{**(defaults or {}), **given})
            if organisation is not None:
                obj.organisation = organisation
            session.add(obj)
            matcher.remember(obj, row)
            saved.append(("create", obj))
            seen.add(id(obj))
        else:
            # No autoflush: loading the old categories would flush the new name first and
            # hide the change from is_modified.
            with session.no_autoflush:
                for key, value in values.items():
                    setattr(obj, key, value)
                if session.is_modified(obj) and id(obj) not in seen:  # once per record
                    saved.append(("update", obj))
                    seen.add(id(obj))
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


class _Matcher:
    """Finds the stored (or just created) record a row describes."""

    def __init__(self, session, model, rows):
        self.column = location_column(model)
        ids = [r["external_id"] for r in rows if r.get("external_id")]
        names = [r["name"] for r in rows if not r.get("external_id")]
        self.by_id = {}
        self.by_name = defaultdict(list)
        if ids:
            for obj in session.scalars(select(model).where(model.external_id.in_(ids))):
                self.by_id[obj.external_id] = obj
        if names:
            query = select(model).where(model.name.in_(names), model.external_id.is_(None))
            for obj in session.scalars(query):
                self.remember(obj, None)

    def remember(self, obj, row):
        if obj.external_id:
            self.by_id[obj.external_id] = obj
            return
        geom = getattr(obj, self.column) if row is None else row.get(self.column)
        if geom is not None and not isinstance(geom, shapely.Geometry):
            geom = to_shape(geom)
        self.by_name[obj.name].append((obj, geom))

    def find(self, row):
        if row.get("external_id"):
            return self.by_id.get(row["external_id"])
        point = row.get(self.column)
        for obj, stored in self.by_name.get(row["name"], ()):
            if point is None or stored is None:
                if point is None and stored is None:
                    return obj
            elif geo.distance_m((point.x, point.y), (stored.x, stored.y)) <= MATCH_METRES:
                return obj
        return None


def check_located(session, model, rows):
    """Return, for each row, why it cannot be saved (None when it can).

    Groups and services must lie in a current ward; wards they serve must be current.
    """
    if model is Coordinator or not rows:
        return [None] * len(rows)
    ward_ids = locate_wards(session, [row["geom"] for row in rows])
    served = {code for row in rows for code in row.get("wards_served") or ()}
    known = {
        code
        for (code,) in session.execute(select(Ward.code).where(Ward.current, Ward.code.in_(served)))
    }
    reasons = []
    for row, ward_id in zip(rows, ward_ids, strict=True):
        unknown = [c for c in row.get("wards_served") or () if c not in known]
        if ward_id is None:
            point = row["geom"]
            reasons.append(
                f"outside every known ward at {point.x:.6f}, {point.y:.6f} ({row['name']})"
            )
        elif unknown:
            reasons.append("wards_served names unknown wards: " + ", ".join(unknown))
        else:
            reasons.append(None)
    return reasons


# --- wards: boundaries, vintages and figures -----------------------------------------


@dataclass
class WardChanges:
    """What a boundary import changed among the current wards where it lies."""

    added: list = dataclasses.field(default_factory=list)  # (code, name) current now, not before
    removed: list = dataclasses.field(default_factory=list)  # current before, not now
    # current before and now, with a new name or shape
    changed: list = dataclasses.field(default_factory=list)
    moved: int = 0  # groups and services whose ward changed
    retired_on_arrival: int = 0  # imported wards older than the current ones there


def import_wards(session, frame, progress=None, chunk=200):
    """Save wards, retire the older ones they replace, and derive again the ward of every
    group and service. Returns (added, updated, WardChanges)."""
    frame = frame.to_crs(geo.WGS84)
    box = frame.total_bounds
    before = _current_ward_shapes(session, box)
    added = updated = 0
    for start in range(0, len(frame), chunk):
        part = frame.iloc[start : start + chunk]
        counts = save_wards(session, part)
        added, updated = added + counts[0], updated + counts[1]
        if progress:
            progress(len(part))
    session.flush()
    changes = WardChanges()
    for vintage, codes in frame.groupby(frame["vintage"].astype(str))["code"]:
        changes.retired_on_arrival += retire_superseded(session, vintage, list(codes))
    session.flush()
    changes.moved = reassign_wards(session)
    after = _current_ward_shapes(session, box)
    changes.added = [(c, after[c][0]) for c in sorted(after.keys() - before.keys())]
    changes.removed = [(c, before[c][0]) for c in sorted(before.keys() - after.keys())]
    changes.changed = [
        (c, after[c][0])
        for c in sorted(before.keys() & after.keys())
        if before[c][0] != after[c][0] or not _same_shape(before[c][1], after[c][1])
    ]
    return added, updated, changes


def _current_ward_shapes(session, lonlat_box):
    """Return {code: (name, WKB)} of the current wards in a box."""
    query = select(Ward.code, Ward.name, func.ST_AsBinary(Ward.geom)).where(
        Ward.current, db.bbox_filter(Ward.geom, lonlat_box, session)
    )
    return {code: (name, bytes(wkb)) for code, name, wkb in session.execute(query)}


def _same_shape(wkb, other):
    return wkb == other or shapely.equals(shapely.from_wkb(wkb), shapely.from_wkb(other))


def vintage_key(vintage):
    """Order vintages by their first four-digit year, then as text ("May 2023" > "2022")."""
    years = re.findall(r"\d{4}", vintage)
    return (int(years[0]) if years else 0, vintage)


def retire_superseded(session, vintage, codes):
    """Retire the current wards that the wards `codes` of `vintage` replace.

    Current wards of different vintages overlap when they share a code or when more than
    SUPERSEDED_SHARE of one's area lies in the other set. Of overlapping wards the older
    vintage is retired: usually those that were there before, but wards older than the
    current ones where they lie are retired on arrival. Returns how many of `codes` were.
    """
    new = list(
        session.scalars(
            select(Ward).where(Ward.current, Ward.vintage == vintage, Ward.code.in_(codes))
        )
    )
    if not new:
        return 0
    new_shapes = [to_shape(w.geom) for w in new]
    box = shapely.total_bounds(new_shapes)
    others = list(
        session.scalars(
            select(Ward).where(
                Ward.current, Ward.vintage != vintage, db.bbox_filter(Ward.geom, box, session)
            )
        )
    )
    key = vintage_key(vintage)
    older = [w for w in others if vintage_key(w.vintage) < key]
    newer = [w for w in others if vintage_key(w.vintage) > key]
    for ward in _replaced(older, new, new_shapes):
        ward.current = False
    newer_shapes = [to_shape(w.geom) for w in newer]
    retired = _replaced(new, newer, newer_shapes)
    for ward in retired:
        ward.current = False
    return len(retired)


def _replaced(wards, by, by_shapes):
    """Return the `wards` that the (non-overlapping) wards `by` replace."""
    if not wards or not by:
        return []
    codes = {w.code for w in by}
    tree = shapely.STRtree(by_shapes)
    replaced = []
    for ward in wards:
        shape = to_shape(ward.geom)
        hits = tree.query(shape, predicate="intersects")
        inside = sum(shapely.intersection(shape, by_shapes[i]).area for i in hits)
        if ward.code in codes or (shape.area and inside / shape.area > SUPERSEDED_SHARE):
            replaced.append(ward)
    return replaced


def save_ward_figures(session, rows):
    """Set figures (population, imd_*) on every ward, of any vintage, with each row's code.

    Returns (updated, unchanged) counted by row; codes with no ward are ignored (see
    queries.known_ward_codes).
    """
    wards = defaultdict(list)
    codes = [row["code"] for row in rows]
    for ward in session.scalars(select(Ward).where(Ward.code.in_(codes))):
        wards[ward.code].append(ward)
    updated = 0
    with session.no_autoflush:
        for row in rows:
            changed = False
            for ward in wards[row["code"]]:
                for key, value in row.items():
                    if key != "code":
                        setattr(ward, key, _plain(value))
                changed = session.is_modified(ward) or changed
            updated += changed
    return updated, len(rows) - updated


def imd_by_ward(lsoas, lsoa_count=ENGLAND_LSOAS):
    """Derive ward figures from LSOAs (dicts with ward_id and rank, decile and/or score).

    Per ward (see docs/imd.md): imd_rank is the mean LSOA rank, imd_score the mean score,
    imd_share_10pct/20pct the share of its LSOAs in the most deprived 10%/20% nationally,
    and imd_decile the national decile of the mean rank (without ranks, the median decile).
    """
    by_ward = defaultdict(list)
    for lsoa in lsoas:
        by_ward[lsoa["ward_id"]].append(lsoa)
    figures = {}
    for ward_id, group in by_ward.items():
        ranks = [g["rank"] for g in group if g.get("rank") is not None]
        deciles = [
            g["decile"] if g.get("decile") is not None else _decile(g["rank"], lsoa_count)
            for g in group
            if g.get("decile") is not None or g.get("rank") is not None
        ]
        scores = [g["score"] for g in group if g.get("score") is not None]
        result = {}
        if ranks:
            result["imd_rank"] = round(sum(ranks) / len(ranks), 1)
            result["imd_decile"] = _decile(sum(ranks) / len(ranks), lsoa_count)
        elif deciles:
            result["imd_decile"] = int(sorted(deciles)[(len(deciles) - 1) // 2])
        if deciles:
            result["imd_share_10pct"] = round(sum(d <= 1 for d in deciles) / len(deciles), 4)
            result["imd_share_20pct"] = round(sum(d <= 2 for d in deciles) / len(deciles), 4)
        if scores:
            result["imd_score"] = round(sum(scores) / len(scores), 3)
        figures[ward_id] = result
    return figures


def _decile(rank, lsoa_count):
    """The national decile (1 = most deprived 10%) of a rank among `lsoa_count` LSOAs."""
    return min(10, max(1, int(np.ceil(rank * 10 / lsoa_count))))


def save_imd_by_lsoa(session, lsoas, lsoa_count=ENGLAND_LSOAS):
    """Save the ward figures derived from LSOAs that carry their ward_id.

    Returns (updated, unchanged) counted by ward.
    """
    figures = imd_by_ward(lsoas, lsoa_count)
    updated = 0
    with session.no_autoflush:
        for ward in session.scalars(select(Ward).where(Ward.id.in_(figures))):
            for key, value in figures[ward.id].items():
                setattr(ward, key, value)
            updated += session.is_modified(ward)
    return updated, len(figures) - updated
