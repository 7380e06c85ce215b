"""Likely duplicate groups, found in this order: a shared org-id, then a similar name with the
same website, then a similar name registered close by."""

import math
import re
import unicodedata
from difflib import SequenceMatcher

from sqlalchemy import func, or_, select, true

from mapper import geo
from mapper.errors import Conflict
from mapper.store import db
from mapper.store.models import CommunityGroup, OrgId

DUPLICATE_RADIUS_M = 250


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


class LikelyDuplicate(Conflict):
    """A group sharing an org-id, or with a similar name and the same website or close by,
    is already registered."""

    code = "duplicate"

    def __init__(self, duplicates, org_ids=(), website=None):
        self.duplicates = duplicates
        names = "; ".join(
            f"'{g.name}' (id {g.id}, {_why(g, m, org_ids, website)})" for g, m in duplicates
        )
        fields = {"name": f"similar to {names}"}
        shared = sorted({v for g, _ in duplicates for v in g.org_ids} & set(org_ids))
        if shared:
            fields["org_ids"] = "already carried by " + names
        super().__init__(
            f"A group sharing an org-id, or with a similar name and the same website or within "
            f"{DUPLICATE_RADIUS_M} m, is registered: {names}. "
            "Confirm that this is a different group to save it.",
            fields=fields,
        )


def _why(group, metres, org_ids, website):
    shared = sorted(set(group.org_ids) & set(org_ids))
    if shared:
        return "shares org-id " + ", ".join(shared)
    if website and _site_key(group.website) == _site_key(website):
        return "same website"
    return _away(metres)


def _site_key(url):
    """Return a web address without its scheme, `www.`, case and trailing slash."""
    text = (url or "").strip().lower()
    text = re.sub(r"^[a-z]+://", "", text)
    text = text.removeprefix("www.")
    return text.rstrip("/")


def _away(metres):
    return "close by" if metres is None else f"{metres:.0f} m away"


def _knows_where(user, group):
    """Tell whether `user` may learn how far away `group` really is: its location is
    published exactly, or the user is an admin or of its organisation (None: the system)."""
    return (
        group.location_precision in (None, "exact")
        or user is None
        or user.role == "admin"
        or user.organisation_id == group.organisation_id
    )


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


def _visible_to(user):
    if user is None or user.role == "admin":
        return true()
    return or_(
        CommunityGroup.status == "active", CommunityGroup.organisation_id == user.organisation_id
    )


def likely_duplicates(
    session, name, lonlat, exclude_id=None, seen_by=None, website=None, org_ids=()
):
    """Return [(group, metres)] of groups not closed that are likely the same group: first
    those sharing one of `org_ids`, then those with a similar name and the same `website`,
    then those with a similar name within 250 m (metres None where the user may not learn it).

    With `seen_by`, only the groups that user may see: active ones, their organisation's, or
    all for administrators, so that the answer never names a group they may not know of; and
    another organisation's approximate group is found by its published point, with metres
    None ("close by"); their hidden groups are not found.
    """
    found = _by_org_id(session, org_ids, exclude_id, seen_by)
    found += _by_website(session, name, website, exclude_id, seen_by, found)
    found = [(g, _metres(seen_by, g, lonlat, x, y)) for g, x, y in found]
    taken = {g.id for g, _ in found}
    return found + [
        pair
        for pair in _close_by(session, name, lonlat, exclude_id, seen_by)
        if pair[0].id not in taken
    ]


def _metres(user, group, lonlat, x, y):
    return geo.distance_m(lonlat, (x, y)) if _knows_where(user, group) else None


def _by_org_id(session, org_ids, exclude_id, seen_by):
    if not org_ids:
        return []
    query = _located().where(CommunityGroup.identifiers.any(OrgId.value.in_(list(org_ids))))
    return _rows(session, query, exclude_id, seen_by)


def _by_website(session, name, website, exclude_id, seen_by, already):
    key = _site_key(website)
    if not key:
        return []
    pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = _located().where(func.lower(CommunityGroup.website).like(pattern, escape="\\"))
    taken = {g.id for g, _, _ in already}
    return [
        (g, x, y)
        for g, x, y in _rows(session, query, exclude_id, seen_by)
        if g.id not in taken and _site_key(g.website) == key and similar_names(name, g.name)
    ]


def _located():
    return select(CommunityGroup, func.ST_X(CommunityGroup.geom), func.ST_Y(CommunityGroup.geom))


def _rows(session, query, exclude_id, seen_by):
    """Return [(group, x, y)] of the groups not closed the query chooses, that the user sees."""
    return session.execute(
        query.where(CommunityGroup.status != "closed", CommunityGroup.id != (exclude_id or 0))
        .where(_visible_to(seen_by))
        .order_by(CommunityGroup.id)
    ).all()


def _close_by(session, name, lonlat, exclude_id, seen_by):
    """Return [(group, metres)] with a similar name within DUPLICATE_RADIUS_M, nearest first."""
    lon, lat = lonlat
    # Wider by a grid cell: an approximate group is near where it is published.
    half_height = (
        DUPLICATE_RADIUS_M + 2 * geo.GRID_CELL_M
    ) / 111_000  # degrees of latitude, a little generous
    half_width = half_height / max(math.cos(math.radians(lat)), 0.01)
    box = (
        max(lon - half_width, -180),
        max(lat - half_height, -90),
        min(lon + half_width, 180),
        min(lat + half_height, 90),
    )
    rows = _rows(
        session,
        _located().where(db.bbox_filter(CommunityGroup.geom, box, session)),
        exclude_id,
        seen_by,
    )
    known, unknown = [], []
    for group, x, y in rows:
        if not similar_names(name, group.name):
            continue
        if _knows_where(seen_by, group):
            metres = geo.distance_m(lonlat, (x, y))
            if metres <= DUPLICATE_RADIUS_M:
                known.append((group, metres))
            continue
        # Measured to where it is published, never said: else answers would locate it.
        published = geo.published_point(geo.lonlat_point((x, y)), group.location_precision)
        if published and geo.distance_m(lonlat, (published.x, published.y)) <= DUPLICATE_RADIUS_M:
            unknown.append((group, None))
    return sorted(known, key=lambda pair: pair[1]) + unknown
