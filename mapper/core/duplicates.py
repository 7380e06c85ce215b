"""Likely duplicate groups: similar names registered close by."""

import math
import re
import unicodedata
from difflib import SequenceMatcher

from sqlalchemy import func, or_, select, true

from mapper import geo
from mapper.errors import Conflict
from mapper.store import db
from mapper.store.models import CommunityGroup

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
    """A group with a similar name is already registered close by."""

    code = "duplicate"

    def __init__(self, duplicates):
        self.duplicates = duplicates
        names = "; ".join(f"'{g.name}' (id {g.id}, {_away(m)})" for g, m in duplicates)
        super().__init__(
            f"A group with a similar name is registered within {DUPLICATE_RADIUS_M} m: {names}. "
            "Confirm that this is a different group to save it.",
            fields={"name": f"similar to {names}"},
        )


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


def likely_duplicates(session, name, lonlat, exclude_id=None, seen_by=None):
    """Return [(group, metres)] of groups not closed with a similar name within 250 m.

    With `seen_by`, only the groups that user may see: active ones, their organisation's, or
    all for administrators, so that the answer never names a group they may not know of; and
    another organisation's approximate group is found by its published point, with metres
    None ("close by"); their hidden groups are not found.
    """
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
    rows = session.execute(
        select(CommunityGroup, func.ST_X(CommunityGroup.geom), func.ST_Y(CommunityGroup.geom))
        .where(db.bbox_filter(CommunityGroup.geom, box, session))
        .where(CommunityGroup.status != "closed", CommunityGroup.id != (exclude_id or 0))
        .where(_visible_to(seen_by))
        .order_by(CommunityGroup.id)
    ).all()
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
