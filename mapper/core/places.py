"""Find a place: a postcode, a ward, a local authority or a public group, answered with wards.

Only public things are searched: current wards, their authorities, imported postcodes and the
names of active groups. Coordinators, users and groups not yet approved are never looked at.
"""

import re
from dataclasses import asdict, dataclass, field

import shapely
from sqlalchemy import func, select

from mapper.core.group_input import POSTCODE_FORMAT
from mapper.core.profiles import capitalised
from mapper.core.wards import find_ward
from mapper.errors import Invalid
from mapper.store.models import CommunityGroup, Postcode, Ward

LONGEST_QUERY = 100
MATCH_LIMIT = 10  # of each kind
# Text shaped like a whole postcode (any case and spacing) is looked up as one.
POSTCODE_LIKE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}$", re.IGNORECASE)


@dataclass
class Place:
    """One match: what it is, its name, and the ward (or authority) it answers with."""

    kind: str  # "postcode", "ward", "la" or "group"
    name: str
    ward_code: str | None = None
    ward_name: str | None = None
    la_code: str | None = None
    la_name: str | None = None
    group_id: int | None = None
    lonlat: list[float] | None = None  # the ward's label point, or the postcode's centroid
    lonlat_box: list[float] | None = None  # the ward's [min_lon, min_lat, max_lon, max_lat]


@dataclass
class Found:
    """What a search found: the best answer first, and a sentence saying so."""

    query: str
    places: list[Place] = field(default_factory=list)
    message: str = ""

    @property
    def answer(self):
        """Return the best match, or None."""
        return self.places[0] if self.places else None

    def as_json(self):
        """Return the answer as plain JSON."""
        answer = self.answer
        return {
            "query": self.query,
            "message": self.message,
            "answer": asdict(answer) if answer else None,
            "places": [asdict(p) for p in self.places],
        }


def clean_query(text):
    """Return the search text trimmed; Invalid naming `q` when it is empty or too long."""
    text = " ".join(str(text or "").split())
    if not text:
        raise Invalid(
            "Type a postcode, or the name of a ward, council or group.", {"q": "is empty"}
        )
    if len(text) > LONGEST_QUERY:
        reason = f"is longer than {LONGEST_QUERY} characters"
        raise Invalid(f"The search {reason}.", {"q": reason})
    return text


def find_places(session, text):
    """Search postcodes, current wards, local authorities and active groups for `text`."""
    text = clean_query(text)
    if POSTCODE_LIKE.match(text):
        return _postcode(session, text)
    wards = _wards(session, text)
    las = _authorities(session, text)
    groups = _groups(session, text)
    places = wards + las + groups
    if places:
        message = f"{_said(places[0])}."
        if len(places) > 1:
            message += f" {len(places) - 1} other {_plural(len(places) - 1, 'match', 'matches')}."
    else:
        message = f"No ward, council or group is called anything like “{text}”."
    return Found(text, places, message)


def _postcode(session, text):
    postcode = Postcode.normalise(text)
    if not POSTCODE_FORMAT.match(postcode):
        return Found(text, [], f"{postcode} is not a UK postcode.")
    found = session.get(Postcode, postcode)
    if found is None:
        return Found(text, [], f"The postcode {postcode} is not one we know.")
    ward = find_ward(session, [found.lon, found.lat])
    if ward is None:
        return Found(text, [], f"The postcode {postcode} is outside every ward on the map.")
    place = _ward_place(session, ward, kind="postcode", name=postcode)
    place.lonlat = [found.lon, found.lat]
    return Found(text, [place], f"{_said(place)}.")


def _said(place):
    where = f"{place.ward_name} ward" + (f", {place.la_name}" if place.la_name else "")
    if place.kind == "postcode":
        return f"The postcode {place.name} is in {where}"
    if place.kind == "group":
        return f"The group {place.name} is in {where}"
    if place.kind == "la":
        return f"{place.name}: its wards are on the map"
    return capitalised(where)


def _plural(count, one, many):
    return one if count == 1 else many


def _like(column, text):
    return func.lower(column).contains(text.lower(), autoescape=True)


def _ranked(column, text):
    """Order exact names first, then names starting with the text, then by name."""
    lowered = func.lower(column)
    exact = (lowered == text.lower()).desc()
    starts = lowered.startswith(text.lower(), autoescape=True).desc()
    return exact, starts, column


def _wards(session, text):
    query = (
        select(Ward, func.ST_AsBinary(Ward.geom), func.ST_AsBinary(Ward.label_point))
        .where(Ward.current, _like(Ward.name, text))
        .order_by(*_ranked(Ward.name, text), Ward.code)
        .limit(MATCH_LIMIT)
    )
    return [_place(ward, geom, point) for ward, geom, point in session.execute(query)]


def _ward_place(session, ward, **kind):
    query = select(func.ST_AsBinary(Ward.geom), func.ST_AsBinary(Ward.label_point)).where(
        Ward.id == ward.id
    )
    geom, point = session.execute(query).one()
    return _place(ward, geom, point, **kind)


def _place(ward, geom, point, kind="ward", name=None, group_id=None):
    bounds = shapely.from_wkb(geom).bounds
    label = shapely.from_wkb(point)
    return Place(
        kind=kind,
        name=name or ward.name,
        ward_code=ward.code,
        ward_name=ward.name,
        la_code=ward.la_code,
        la_name=ward.la_name,
        group_id=group_id,
        lonlat=[round(label.x, 6), round(label.y, 6)],
        lonlat_box=[round(v, 6) for v in bounds],
    )


def _authorities(session, text):
    query = (
        select(Ward.la_code, Ward.la_name)
        .where(Ward.current, Ward.la_code.is_not(None), Ward.la_name.is_not(None))
        .where(_like(Ward.la_name, text))
        .group_by(Ward.la_code, Ward.la_name)
        .order_by(*_ranked(Ward.la_name, text))
        .limit(MATCH_LIMIT)
    )
    return [
        Place(kind="la", name=name, la_code=code, la_name=name)
        for code, name in session.execute(query)
    ]


def _groups(session, text):
    query = (
        select(
            CommunityGroup, Ward, func.ST_AsBinary(Ward.geom), func.ST_AsBinary(Ward.label_point)
        )
        .join(Ward, CommunityGroup.ward_id == Ward.id)
        .where(CommunityGroup.status == "active", Ward.current)
        .where(_like(CommunityGroup.name, text))
        .order_by(*_ranked(CommunityGroup.name, text), CommunityGroup.id)
        .limit(MATCH_LIMIT)
    )
    return [
        _place(ward, geom, point, kind="group", name=group.name, group_id=group.id)
        for group, ward, geom, point in session.execute(query)
    ]
