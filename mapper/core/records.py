"""Saving imported records: groups, services, coordinators and postcodes, matched to stored ones."""

from collections import defaultdict

import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from mapper import geo
from mapper.core.accounts import get_or_create_organisation
from mapper.core.audit import record
from mapper.core.wards import locate_wards
from mapper.store import version
from mapper.store.bulk import insert_rows, merge_rows
from mapper.store.db import among, reserve_ids, to_wkb_element
from mapper.store.models import (
    AuditEvent,
    Category,
    CommunityGroup,
    Coordinator,
    OrgId,
    Postcode,
    Service,
    Ward,
    category_mask_of,
    group_categories,
    group_wards_served,
    location_column,
    service_categories,
)
from mapper.store.queries import categories_by_slug, current_wards_by_code

# The key under which check_located leaves each row's ward id for save_located.
LOCATED_WARD = "_located_ward_id"

# Records without an external id are the same record when their names are equal and their
# locations this close (postcode centroids and geocoders disagree by a few metres). Before
# names, a group is the stored one that shares one of its org-ids.
MATCH_METRES = 5.0


def save_postcodes(session, rows):
    """Insert or update postcode centroids (dicts with postcode, lon, lat and optionally
    residents: None or absent stores NULL, so the file read last decides).

    Returns (added, updated); a postcode whose centroid and residents are unchanged is neither.
    Of two rows of one postcode, the later decides. Saved in bulk (`store.bulk.merge_rows`).
    """
    wanted = {
        Postcode.normalise(r["postcode"]): (
            float(r["lon"]),
            float(r["lat"]),
            None if r.get("residents") is None else float(r["residents"]),
        )
        for r in rows
    }
    return merge_rows(session, Postcode.__table__, [(code, *row) for code, row in wanted.items()])


def save_located(
    session, model, records, organisation=None, user=None, defaults=None, outcomes=None
):
    """Insert or update groups, services or coordinators.

    A record is the stored one with its `external_id`, else the stored group sharing one of
    its `org_ids` (normalised org-ids); one without an external id is else the stored one,
    also without, that has the same name within MATCH_METRES of its location. Each record holds
    column values; geometry columns hold shapely geometries in lon/lat, `categories` holds
    category slugs, `wards_served` ward codes and `employer` an organisation's name.
    `defaults` (such as a status) and `organisation` are set only on the records created.
    Returns (added, updated); a record that changes nothing is neither. When `outcomes` is a
    list, (fate, record) is appended to it for each row: fate "new", "update" or "unchanged".

    New groups and services are written in bulk (see `_BulkInsert`): one INSERT of all the
    rows, their wards located in one vectorised pass, their categories and audit events in
    one INSERT each. Updates and coordinators go through the ORM.
    """
    geometry_columns = {c.name for c in model.__table__.columns if hasattr(c.type, "srid")}
    matcher = _Matcher(session, model, records)
    bulk = _BulkInsert(session, model, organisation, user, defaults) if model in BULK else None
    saved, seen = [], set()
    lookups = {}

    def stored(find, wanted):
        """Categories or wards by slug or code, looked up once per distinct list."""
        key = (find, tuple(wanted))
        if key not in lookups:
            # They are stored already, so nothing need be flushed first: a flush per row
            # would derive the new rows' wards one row at a time.
            with session.no_autoflush:
                lookups[key] = find(session, list(wanted))
        return list(lookups[key])

    providers = _providers(session, records)
    for row in records:
        values = dict(row)
        ward_id = values.pop(LOCATED_WARD, None)
        provider = next(
            (providers[v] for v in values.pop("provider_org_ids", ()) if v in providers), None
        )
        if provider is not None:
            values["organisation_id"] = provider
        obj = matcher.find(values)
        if isinstance(obj, _New):  # a record this chunk creates: write it, then edit it
            bulk.write()
            obj = session.get(model, obj.id)
            matcher.replace(obj)
            seen.add(id(obj))  # counted once, as created
        if obj is None and bulk is not None:
            obj = bulk.add(values, stored, ward_id)
            matcher.remember(obj, row)
            if outcomes is not None:
                outcomes.append(("new", obj))
            continue
        for column in geometry_columns & values.keys():
            if values[column] is not None:
                values[column] = to_wkb_element(values[column])
        if "categories" in values:
            values["categories"] = stored(categories_by_slug, values["categories"])
        if "wards_served" in values:
            values["wards_served"] = stored(current_wards_by_code, values["wards_served"])
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
            fate = "new"
        else:
            # No autoflush: loading the old categories would flush the new name first and
            # hide the change from is_modified.
            with session.no_autoflush:
                for key, value in values.items():
                    setattr(obj, key, value)
                fate = "update" if session.is_modified(obj) else "unchanged"
                if fate == "update" and id(obj) not in seen:  # once per record
                    saved.append(("update", obj))
                    seen.add(id(obj))
        if outcomes is not None:
            outcomes.append((fate, obj))
    session.flush()
    for action, obj in saved:
        record(session, action, obj, user=user, changes={"source": "import"})
    created = sum(1 for action, _ in saved if action == "create")
    if bulk is not None:
        bulk.write()
    return created + (bulk.written if bulk else 0), len(saved) - created


def _providers(session, records):
    """Return {org-id: organisation id} of the stored organisations carrying the org-ids of
    the rows' providers (`provider_org_ids`, from an Open Referral feed)."""
    wanted = sorted({v for r in records for v in r.get("provider_org_ids") or ()})
    if not wanted:
        return {}
    query = select(OrgId.value, OrgId.organisation_id).where(
        OrgId.value.in_(wanted), OrgId.organisation_id.is_not(None)
    )
    return dict(session.execute(query.order_by(OrgId.organisation_id.desc())).all())


class _New:
    """A record a chunk creates in bulk: what matching needs until it is written."""

    __slots__ = ("name", "external_id", "id")

    def __init__(self, name, external_id):
        self.name, self.external_id, self.id = name, external_id, None


class _BulkInsert:
    """New groups or services of a chunk, written with one INSERT per table."""

    def __init__(self, session, model, organisation, user, defaults):
        self.session, self.model, self.user = session, model, user
        self.table = model.__table__
        self.keys = set(self.table.c.keys())
        self.links = BULK[model]
        self.fixed = {**(defaults or {})}
        if organisation is not None:
            self.fixed["organisation_id"] = organisation.id
        self.pending = []  # (record, column values, category ids, served ward ids)
        self.org_ids = []  # the normalised org-ids of each pending record
        # The whole vocabulary at once: a query per distinct list of slugs costs more.
        self.category_ids = dict(session.execute(select(Category.slug, Category.id)).all())
        self.written = 0

    def add(self, values, stored, ward_id=None):
        """Keep a new record to write; return its stand-in for matching and outcomes.

        `ward_id` is the ward `check_located` found for it; without one, `write` locates it.
        """
        slugs = values.pop("categories", None) or ()
        unknown = [slug for slug in slugs if slug not in self.category_ids]
        if unknown:
            raise KeyError(", ".join(unknown))
        category_ids = [self.category_ids[slug] for slug in slugs]
        self.org_ids.append(values.pop("org_ids", None) or ())
        served = values.pop("wards_served", None) or ()
        served_ids = [w.id for w in stored(current_wards_by_code, served)] if served else []
        columns = {k: v for k, v in values.items() if v is not None and k in self.keys}
        columns["ward_id"] = ward_id
        new = _New(values.get("name"), values.get("external_id"))
        self.pending.append((new, columns, category_ids, served_ids))
        return new

    def write(self):
        """Write the records kept so far; return how many."""
        pending, self.pending = self.pending, []
        org_ids, self.org_ids = self.org_ids, []
        if not pending:
            return 0
        session, table = self.session, self.table
        unlocated = [columns for _, columns, _, _ in pending if columns["ward_id"] is None]
        if unlocated:
            ward_ids = locate_wards(session, [columns["geom"] for columns in unlocated])
            for columns, ward_id in zip(unlocated, ward_ids, strict=True):
                columns["ward_id"] = ward_id
        ids = reserve_ids(session, table, len(pending))
        rows = [
            {**self.fixed, **columns, "id": id_}
            for (_, columns, _, _), id_ in zip(pending, ids, strict=True)
        ]
        if "category_mask" in table.c:  # what the link table's triggers (0012) would set
            for row, (_, _, categories, _) in zip(rows, pending, strict=True):
                row["category_mask"] = category_mask_of(categories)
        keys = set().union(*rows)
        for row in rows:  # one executemany needs the same keys in every row
            for key in keys - row.keys():
                row[key] = _column_default(table.c[key])
        served_wards = [w for _, _, _, wards in pending for w in wards]
        points = shapely.get_coordinates([columns["geom"] for _, columns, _, _ in pending])
        with version.placed_writes(session, [r["ward_id"] for r in rows] + served_wards, points):
            self._insert(rows, pending, ids, org_ids)
        for (new, _, _, _), id_ in zip(pending, ids, strict=True):
            new.id = id_
        self.written += len(ids)
        return len(ids)

    def _insert(self, rows, pending, ids, org_ids):
        session, table = self.session, self.table
        insert_rows(session, table, rows)
        category_link, served_link = self.links
        links = [
            {category_link[0]: id_, "category_id": c}
            for id_, (_, _, categories, _) in zip(ids, pending, strict=True)
            for c in dict.fromkeys(categories)
        ]
        if links:
            insert_rows(session, category_link[1], links)
        served = [
            {"group_id": id_, "ward_id": w}
            for id_, (_, _, _, wards) in zip(ids, pending, strict=True)
            for w in dict.fromkeys(wards)
        ]
        if served:
            insert_rows(session, served_link, served)
        identifiers = [
            {"group_id": id_, "scheme": row.scheme, "identifier": row.identifier, "value": value}
            for id_, values in zip(ids, org_ids, strict=True)
            for value in values
            for row in [OrgId.of(value)]
        ]
        insert_rows(session, OrgId.__table__, identifiers)
        user_id = self.user.id if self.user else None
        changes = {"source": "import"}  # one object: serialised once for every row
        events = [
            {
                "action": "create",
                "entity_type": table.name,
                "entity_id": id_,
                "user_id": user_id,
                "changes": changes,
                "reason": None,
            }
            for id_ in ids
        ]
        insert_rows(session, AuditEvent.__table__, events)


def _column_default(column):
    default = column.default
    return default.arg if default is not None and default.is_scalar else None


# The models created in bulk: (the category link table's record column, the table), and the
# table of wards served (groups only).
BULK = {
    CommunityGroup: (("group_id", group_categories), group_wards_served),
    Service: (("service_id", service_categories), None),
}


class _Matcher:
    """Finds the stored (or just created) record a row describes."""

    def __init__(self, session, model, rows):
        self.column = location_column(model)
        ids = [r["external_id"] for r in rows if r.get("external_id")]
        names = [r["name"] for r in rows if not r.get("external_id")]
        org_ids = sorted({v for r in rows for v in r.get("org_ids") or ()})
        self.by_id = {}
        self.by_name = defaultdict(list)
        self.by_org_id = {}
        # Their categories in one query too: comparing a row's with each record's would
        # otherwise load them record by record.
        loaded = [selectinload(model.categories)] if hasattr(model, "categories") else []
        if hasattr(model, "identifiers"):
            loaded.append(selectinload(model.identifiers))
        if org_ids:
            query = select(model).where(model.identifiers.any(among(session, OrgId.value, org_ids)))
            for obj in session.scalars(query.order_by(model.id).options(*loaded)):
                for value in obj.org_ids:
                    self.by_org_id.setdefault(value, obj)
        if ids:
            query = select(model).where(among(session, model.external_id, ids)).options(*loaded)
            for obj in session.scalars(query):
                self.by_id[obj.external_id] = obj
        if names:
            unnamed = model.external_id.is_(None)
            query = select(model).where(among(session, model.name, names), unnamed)
            for obj in session.scalars(query.options(*loaded)):
                self.remember(obj, None)

    def remember(self, obj, row):
        given = getattr(obj, "org_ids", ()) if row is None else row.get("org_ids")
        for value in given or ():
            self.by_org_id.setdefault(value, obj)
        if obj.external_id:
            self.by_id[obj.external_id] = obj
            return
        geom = getattr(obj, self.column) if row is None else row.get(self.column)
        if geom is not None and not isinstance(geom, shapely.Geometry):
            geom = to_shape(geom)
        self.by_name[obj.name].append((obj, geom))

    def replace(self, obj):
        """Put the written record where its stand-in was."""
        for value, found in self.by_org_id.items():
            if isinstance(found, _New) and found.id == obj.id:
                self.by_org_id[value] = obj
        if obj.external_id:
            self.by_id[obj.external_id] = obj
            return
        self.by_name[obj.name] = [
            (obj if getattr(o, "id", None) == obj.id and isinstance(o, _New) else o, g)
            for o, g in self.by_name[obj.name]
        ]

    def find(self, row):
        if row.get("external_id") in self.by_id:
            return self.by_id[row["external_id"]]
        for value in row.get("org_ids") or ():
            if value in self.by_org_id:
                return self.by_org_id[value]
        if row.get("external_id"):
            return None
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

    Groups and services must lie in a current ward; wards they serve must be current. The
    whole file is located in one spatial join, and each row keeps the ward found (under
    LOCATED_WARD) so that `save_located` need not locate it again.
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
            row[LOCATED_WARD] = ward_id
            reasons.append(None)
    return reasons


def retire_missing(session, model, prefix, kept, user=None):
    """Close the active records whose external id starts with `prefix` but is not in `kept`.

    A feed read whole says which of its records still exist: those it no longer lists have
    closed. Returns how many were closed; each change is audited.
    """
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = select(model).where(
        model.external_id.like(pattern, escape="\\"), model.status == "active"
    )
    gone = [obj for obj in session.scalars(query) if obj.external_id not in kept]
    for obj in gone:
        obj.status = "closed"
        record(session, "update", obj, user=user, changes={"source": "import", "status": "closed"})
    session.flush()
    return len(gone)
