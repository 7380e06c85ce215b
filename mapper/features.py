"""The OGC API – Features collections: what each one holds and how its items are read.

No Flask here: the `ogc` blueprint parses the request, calls these and answers. Items are
paged by key (a ward's code, a group's or service's id): a page asks for the items after the
last key of the previous one, so a deep page costs no more than the first.
"""

from dataclasses import dataclass

import shapely
from sqlalchemy import func, select

from mapper import db, exports, queries
from mapper.models import CommunityGroup, Service, Ward

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

# Property filters, as named in the query string, and the query argument each one feeds.
FILTER_ARGUMENTS = {"la_code": "la_codes", "ward_code": "ward_codes", "category": "categories"}


@dataclass
class ItemsPage:
    features: list
    number_matched: int
    next_after: object = None  # the key to continue after; None on the last page


class WardCollection:
    id = "wards"
    title = "Electoral wards"
    description = (
        "The current electoral wards (ONS GSS codes) with their local authority, boundary "
        "vintage and population where imported. The feature id is the ward code."
    )
    filters = ("la_code", "ward_code")

    @staticmethod
    def parse_key(text):
        return str(text).upper()

    def items(self, session, lonlat_box=None, filters=None, after=None, limit=DEFAULT_LIMIT):
        clauses = queries.current_ward_filter(
            session,
            lonlat_box,
            la_codes=(filters or {}).get("la_code", ()),
            codes=(filters or {}).get("ward_code", ()),
        )
        query = select(Ward, func.ST_AsBinary(Ward.geom)).where(*clauses).order_by(Ward.code)
        if after is not None:
            query = query.where(Ward.code > after)
        rows = session.execute(query.limit(limit + 1)).all()
        matched = session.scalar(select(func.count(Ward.id)).where(*clauses))
        features = [self._feature(ward, wkb) for ward, wkb in rows[:limit]]
        next_after = rows[limit - 1][0].code if len(rows) > limit else None
        return ItemsPage(features, matched, next_after)

    def item(self, session, key):
        row = session.execute(
            select(Ward, func.ST_AsBinary(Ward.geom)).where(Ward.current, Ward.code == key)
        ).first()
        return self._feature(*row) if row else None

    def extent(self, session):
        return db.extent(session, Ward.geom, Ward.current)

    @staticmethod
    def _feature(ward, wkb):
        geom = shapely.from_wkb(bytes(wkb))
        return exports.feature(geom, exports.ward_properties(ward), feature_id=ward.code)


class LocatedCollection:
    """Active community groups or services; the feature id is the record's id."""

    filters = ("la_code", "ward_code", "category")

    def __init__(self, model, collection_id, title, description, properties):
        self.model, self.id, self.title = model, collection_id, title
        self.description, self.properties = description, properties

    @staticmethod
    def parse_key(text):
        value = int(text)
        if value < 0:
            raise ValueError(text)
        return value

    def items(self, session, lonlat_box=None, filters=None, after=None, limit=DEFAULT_LIMIT):
        arguments = {FILTER_ARGUMENTS[k]: v for k, v in (filters or {}).items()}
        records = queries.public_records(
            session,
            self.model,
            after=after or 0,
            limit=limit + 1,
            lonlat_box=lonlat_box,
            **arguments,
        )
        matched = queries.count_public(session, self.model, lonlat_box=lonlat_box, **arguments)
        features = exports.located_features(records[:limit], self.properties)
        next_after = records[limit - 1].id if len(records) > limit else None
        return ItemsPage(features, matched, next_after)

    def item(self, session, key):
        record = session.get(self.model, key)
        if record is None or record.status != "active":
            return None
        return exports.located_features([record], self.properties)[0]

    def extent(self, session):
        return db.extent(session, self.model.geom, self.model.status == "active")


COLLECTIONS = {
    c.id: c
    for c in (
        WardCollection(),
        LocatedCollection(
            CommunityGroup,
            "groups",
            "Community groups",
            "Active community groups with their public fields: categories, kind, ward, "
            "address, website, public contact and meeting times. Groups awaiting approval "
            "and closed groups are not published.",
            exports.group_properties,
        ),
        LocatedCollection(
            Service,
            "services",
            "Services",
            "Active services for residents (food banks, libraries, advice, social "
            "prescribing…) with provider, categories, delivery, opening hours and eligibility.",
            exports.service_properties,
        ),
    )
}
