"""The OGC API – Features collections: what each one holds and how its items are read.

No Flask here: the `ogc` blueprint parses the request, calls these and answers. Items are
paged by key (a ward's code, a group's or service's id): a page asks for the items after the
last key of the previous one, so a deep page costs no more than the first.
"""

from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import func, select

from mapper.core import analysis
from mapper.io import exports
from mapper.store import db, queries, version
from mapper.store.models import CommunityGroup, Service, Ward, as_record_id

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEFAULT_LIMIT = 100
# `datetime`: an RFC 3339 date or date-time, or an interval of them with ".." for an open
# end; the items query refuses anything else, and the OpenAPI document states this pattern.
INSTANT = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?"
)
DATETIME_PATTERN = rf"^({INSTANT}|({INSTANT}|\.\.)?/({INSTANT}|\.\.)?)$"
MAX_LIMIT = 10_000

# Property filters, as named in the query string, and the query argument each one feeds.
FILTER_ARGUMENTS = {"la_code": "la_codes", "ward_code": "ward_codes", "category": "categories"}
# The parameters of /gaps.geojson (http.gap_inputs.GapQuery), which the gaps collection takes too.
GAP_PARAMETERS = ("la", "ward", "category", "kind", "as_of", "reach_m")


@dataclass
class ItemsPage:
    """A page of features: the features, how many match in all, and where to go on."""

    features: list
    number_matched: int
    next_after: object = None  # the key to continue after; None on the last page


class WardCollection:
    """The current electoral wards as an OGC collection, keyed by ward code."""

    id = "wards"
    title = "Electoral wards"
    description = (
        "The current electoral wards (ONS GSS codes) with their local authority, boundary "
        "vintage and population where imported. The feature id is the ward code."
    )
    filters = ("la_code", "ward_code")
    parameters = ()  # query parameters besides the property filters
    key_type = "string"

    @staticmethod
    def parse_key(text):
        return str(text).upper()

    def items(self, session, lonlat_boxes=(), filters=None, after=None, limit=DEFAULT_LIMIT):
        clauses = queries.current_ward_filter(
            session,
            lonlat_boxes=lonlat_boxes or (),
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
    parameters = ()
    key_type = "integer"

    def __init__(self, model, collection_id, title, description, properties):
        self.model, self.id, self.title = model, collection_id, title
        self.description, self.properties = description, properties

    @staticmethod
    def parse_key(text):
        value = as_record_id(text)
        if value is None and text != "0":  # 0 is the cursor before the first record
            raise ValueError(text)
        return value or 0

    def items(self, session, lonlat_boxes=(), filters=None, after=None, limit=DEFAULT_LIMIT):
        arguments = {FILTER_ARGUMENTS[k]: v for k, v in (filters or {}).items()}
        try:  # an unknown category is an error here as in the gaps collection
            queries.categories_by_slug(session, arguments.get("categories", ()))
        except KeyError as error:
            raise analysis.UnknownValues("categories", error.args[0].split(", ")) from None
        query = {"after": after or 0, "limit": limit + 1, "lonlat_boxes": lonlat_boxes}
        keys, features = self.page(session, **query, **arguments)
        next_after = keys[limit - 1] if len(keys) > limit else None
        return ItemsPage(
            features[:limit], self.matched(session, lonlat_boxes, arguments), next_after
        )

    def page(self, session, **query):
        """Return the ids and Features of a page of records (`query`: public_records')."""
        records = queries.public_records(session, self.model, **query)
        return [r.id for r in records], exports.located_features(records, self.properties)

    def matched(self, session, lonlat_boxes, arguments):
        """Return how many records match, counted once per data version: each page of a
        walk through the collection asks the same."""
        key = (
            "ogc_matched",
            self.id,
            tuple(lonlat_boxes or ()),
            tuple(sorted((name, tuple(values)) for name, values in arguments.items())),
        )
        return version.per_version(
            session,
            key,
            lambda: queries.count_public(
                session, self.model, lonlat_boxes=lonlat_boxes, **arguments
            ),
        )

    def item(self, session, key):
        record = session.get(self.model, key)
        if record is None or record.status != "active":
            return None
        return exports.located_features([record], self.properties)[0]

    def extent(self, session):
        published = [self.model.status == "active"]
        if self.model is CommunityGroup:  # an edge group's extent would tell where it is
            published.append(CommunityGroup.location_precision == "exact")
        return db.extent(session, self.model.geom, *published)


class GroupCollection(LocatedCollection):
    """Active community groups, read as flat rows: the ward by its key, the categories from
    each group's category mask, the point as two numbers (no ORM objects, no WKB)."""

    def page(self, session, **query):
        """Return the ids and Features of a page of groups (`query`: public_group_rows')."""
        rows = queries.public_group_rows(session, **query)
        keys = [row.id for row in rows]
        categories = queries.group_categories_of(session, rows)
        features = exports.group_row_features(
            rows, categories, queries.group_org_ids_of(session, keys)
        )
        return keys, features


class GapCollection:
    """The gap analysis, one feature per ward, as /gaps.geojson answers it.

    The analysis parameters (`analysis`: compute_gaps's arguments) set what is analysed, as
    for the download; the property filters and bbox then choose wards from the result.
    """

    id = "gaps"
    title = "Gap analysis"
    description = (
        "Where community activity is and is not taking place: one feature per current ward "
        "with its groups, services, categories present and missing, coordinator coverage, "
        "deprivation, reach (the share of residents within walking distance of each "
        "category), activity class and priority (method: docs/gap-analysis.md). It takes "
        "the parameters of /gaps.geojson (la, ward, category, kind, as_of, reach_m), which set the "
        "analysis; la_code, ward_code and bbox then choose wards from it. The feature id is "
        "the ward code."
    )
    filters = ("la_code", "ward_code")
    parameters = GAP_PARAMETERS
    key_type = "string"
    # The properties the HTML table of items shows (each item's page shows them all).
    columns = (
        "ward_name",
        "population",
        "groups",
        "services",
        "coordinator_coverage",
        "imd_decile",
        "reach_core",
        "activity_class",
        "priority",
    )
    parse_key = staticmethod(WardCollection.parse_key)

    def items(self, session, lonlat_boxes=(), filters=None, after=None, limit=DEFAULT_LIMIT):
        filters = filters or {}
        frame = analysis.compute_gaps(session, **filters.get("analysis", {}))
        chosen = np.ones(len(frame), dtype=bool)
        for name in ("la_code", "ward_code"):
            if filters.get(name):
                chosen &= frame[name].isin(filters[name]).to_numpy()
        if lonlat_boxes:
            # The same test as the other collections: the ward's geometry meets a box.
            meets = np.zeros(len(frame), dtype=bool)
            for lonlat_box in lonlat_boxes:
                if not isinstance(lonlat_box, shapely.Geometry):  # else a box in another CRS
                    lonlat_box = shapely.box(*lonlat_box)
                found = frame.sindex.query(lonlat_box, predicate="intersects")
                meets[found] = True
            chosen &= meets
        frame = frame[chosen].sort_values("ward_code")
        matched = len(frame)
        if after is not None:
            frame = frame[frame["ward_code"] > after]
        features = exports.gap_features(frame.iloc[:limit])
        next_after = features[-1]["id"] if len(frame) > limit else None
        return ItemsPage(features, matched, next_after)

    def item(self, session, key, analysis_filters=None):
        frame = analysis.compute_gaps(session, **(analysis_filters or {}))
        found = exports.gap_features(frame[frame["ward_code"] == key])
        return found[0] if found else None

    def extent(self, session):
        return db.extent(session, Ward.geom, Ward.current)


COLLECTIONS = {
    c.id: c
    for c in (
        WardCollection(),
        GroupCollection(
            CommunityGroup,
            "groups",
            "Community groups",
            "Active community groups with their public fields: categories, kind, ward, "
            "address, website, public contact and meeting times. Groups awaiting approval "
            "and closed groups are not published. A group whose `location_precision` is "
            "`approximate` is at the centre of its 1 km British National Grid square, a "
            "`hidden` one has no geometry (ward only); neither has an address, and `bbox` "
            "finds neither.",
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
        GapCollection(),
    )
}
