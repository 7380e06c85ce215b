"""Read-only look-ups: wards, public groups and services, categories and postcodes."""

import numpy as np
import shapely
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import selectinload

from mapper.store import db
from mapper.store.models import (
    MASK_IDS,
    Category,
    CommunityGroup,
    OrgId,
    Postcode,
    Service,
    Ward,
    group_categories,
    service_categories,
)


def wards(session, la_codes=(), codes=(), vintage=None):
    """Return [(ward, shapely geometry)] ordered by code: the current wards by default."""
    query = select(Ward, func.ST_AsBinary(Ward.geom)).order_by(Ward.code, Ward.vintage)
    query = query.where(Ward.vintage == vintage) if vintage else query.where(Ward.current)
    if la_codes:
        query = query.where(Ward.la_code.in_(la_codes))
    if codes:
        query = query.where(Ward.code.in_(codes))
    rows = session.execute(query).all()
    return list(zip([r[0] for r in rows], shapely.from_wkb([r[1] for r in rows]), strict=True))


def public_groups(session, after=0, limit=100, **filters):
    """Return up to `limit` groups (active by default) with id above `after`, ordered by id.

    Filters as in `public_filter`; statuses other than active are for signed-in users only.
    """
    return public_records(session, CommunityGroup, after=after, limit=limit, **filters)


def category_slugs(session):
    """Return the slug of every category, sorted."""
    return list(session.scalars(select(Category.slug).order_by(Category.slug)))


def category_vocabulary(session):
    """Return {slug or lower-case name: slug} for every category."""
    vocabulary = {}
    for slug, name in session.execute(select(Category.slug, Category.name)):
        vocabulary[name.lower()] = slug
        vocabulary[slug] = slug
    return vocabulary


def postcode_lonlats(session, postcodes, chunk=1000):
    """Return {postcode: (lon, lat)} for those of `postcodes` ('M1 1AA' form) that are known."""
    return {code: row[:2] for code, row in postcode_rows(session, postcodes, chunk).items()}


def postcode_rows(session, postcodes, chunk=1000):
    """Return {postcode: (lon, lat, residents)} for those of `postcodes` that are known."""
    postcodes = list(postcodes)
    found = {}
    for start in range(0, len(postcodes), chunk):
        query = select(Postcode.postcode, Postcode.lon, Postcode.lat, Postcode.residents).where(
            Postcode.postcode.in_(postcodes[start : start + chunk])
        )
        found.update({code: tuple(values) for code, *values in session.execute(query)})
    return found


def postcodes_in_box(session, lonlat_box, residents=False):
    """Return (lons, lats) arrays of the postcode centroids inside a lon/lat box; with
    `residents`, (lons, lats, residents) where a postcode without a figure has NaN."""
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in lonlat_box)
    columns = [Postcode.lon, Postcode.lat] + ([Postcode.residents] if residents else [])
    query = select(*columns).where(
        Postcode.lon.between(min_lon, max_lon), Postcode.lat.between(min_lat, max_lat)
    )
    rows = [tuple(r) for r in session.execute(query)]
    table = np.array(rows, dtype=float).reshape(-1, len(columns))
    return tuple(table[:, i] for i in range(len(columns)))


def known_ward_codes(session, codes):
    """Return those of `codes` that some ward (of any vintage) has."""
    return set(session.scalars(select(Ward.code).where(Ward.code.in_(set(codes)))))


# The link table from each located model to its categories, and its column naming the record.
CATEGORY_LINKS = {
    CommunityGroup: group_categories.c.group_id,
    Service: service_categories.c.service_id,
}


def current_ward_filter(session, lonlat_box=None, la_codes=(), codes=(), lonlat_boxes=()):
    """Return the WHERE clauses choosing the current wards that match.

    `lonlat_box` keeps the wards whose box meets it; `lonlat_boxes` those whose geometry
    intersects one of them (exact, as OGC API – Features asks).
    """
    clauses = [Ward.current]
    if lonlat_box:
        clauses.append(db.bbox_filter(Ward.geom, lonlat_box, session))
    if lonlat_boxes:
        clauses.append(db.boxes_filter(Ward.geom, lonlat_boxes, session))
    if la_codes:
        clauses.append(Ward.la_code.in_(la_codes))
    if codes:
        clauses.append(Ward.code.in_(codes))
    return clauses


def public_filter(
    session,
    model,
    lonlat_box=None,
    ward_codes=(),
    la_codes=(),
    categories=(),
    statuses=("active",),
    organisation_id=None,
    lonlat_boxes=(),
    org_id=None,
):
    """Return the WHERE clauses choosing the groups or services (active by default) that match.

    `lonlat_box` goes through the spatial index; wards and categories are sub-selects, so the
    same clauses serve a page and its count. With `organisation_id`, records that are not
    active are those of that organisation only. `lonlat_boxes` keeps the records whose
    geometry intersects one of them (exact, as OGC API – Features asks). A search by box finds
    only the groups published at their exact point. `org_id` (normalised) keeps the groups
    that carry it.
    """
    clauses = [model.status.in_(statuses)]
    if (lonlat_box or lonlat_boxes) and model is CommunityGroup:
        # A search by place would tell where an approximate or hidden group really is.
        clauses.append(CommunityGroup.location_precision == "exact")
    if organisation_id is not None:
        clauses.append(or_(model.status == "active", model.organisation_id == organisation_id))
    if lonlat_box:
        clauses.append(db.bbox_filter(model.geom, lonlat_box, session))
    if lonlat_boxes:
        clauses.append(db.boxes_filter(model.geom, lonlat_boxes, session))
    if ward_codes:
        clauses.append(model.ward_id.in_(select(Ward.id).where(Ward.code.in_(ward_codes))))
    if la_codes:
        clauses.append(model.ward_id.in_(select(Ward.id).where(Ward.la_code.in_(la_codes))))
    if categories:
        link = CATEGORY_LINKS[model]
        clauses.append(
            model.id.in_(
                select(link)
                .join(Category, Category.id == link.table.c.category_id)
                .where(Category.slug.in_(categories))
            )
        )
    if org_id is not None and model is CommunityGroup:
        clauses.append(with_org_id(org_id))
    return clauses


def with_org_id(org_id):
    """Return the clause keeping the groups that carry the normalised org-id `org_id`."""
    return CommunityGroup.id.in_(select(OrgId.group_id).where(OrgId.value == org_id))


def public_records(session, model, after=0, limit=100, **filters):
    """Return up to `limit` groups or services with id above `after`, ordered by id."""
    query = (
        select(model)
        .where(*public_filter(session, model, **filters), model.id > after)
        .options(selectinload(model.categories), selectinload(model.ward), *_identifiers(model))
        .order_by(model.id)
        .limit(limit)
    )
    return list(session.scalars(query))


# The columns of community_groups that a group's public properties are read from
# (io/exports.public_group_properties), with its ward's code and name.
PUBLIC_GROUP_COLUMNS = (
    "id",
    "name",
    "description",
    "kind",
    "address",
    "postcode",
    "website",
    "contact_public",
    "meeting_times",
    "charity_number",
    "status",
    "last_verified",
    "location_precision",
)


def public_group_rows(session, after=0, limit=100, **filters):
    """Return up to `limit` groups matching `filters` (as `public_filter`) with id above
    `after`, ordered by id, as flat rows: PUBLIC_GROUP_COLUMNS, `ward_code` and `ward_name`
    (a join on the ward's key), `category_mask`, and `lon` and `lat` of the stored point."""
    group = CommunityGroup
    query = (
        select(
            *(getattr(group, name) for name in PUBLIC_GROUP_COLUMNS),
            Ward.code.label("ward_code"),
            Ward.name.label("ward_name"),
            group.category_mask,
            func.ST_X(group.geom).label("lon"),
            func.ST_Y(group.geom).label("lat"),
        )
        .outerjoin(Ward, Ward.id == group.ward_id)
        .where(*public_filter(session, group, **filters), group.id > after)
        .order_by(group.id)
        .limit(limit)
    )
    return session.execute(query).all()


def group_categories_of(session, rows):
    """Return {group id: its category slugs in slug order} of `public_group_rows`' rows: from
    each group's category mask, and from group_categories for a category without a bit."""
    ordered = session.execute(select(Category.id, Category.slug).order_by(Category.slug)).all()
    bits = [(1 << category_id, slug) for category_id, slug in ordered if category_id in MASK_IDS]
    by_mask = {}
    found = {}
    for row in rows:
        slugs = by_mask.get(row.category_mask)
        if slugs is None:
            slugs = by_mask[row.category_mask] = [s for bit, s in bits if row.category_mask & bit]
        found[row.id] = list(slugs)
    if found and len(bits) < len(ordered):  # an admin's category past the mask's bits
        rank = {slug: i for i, (_, slug) in enumerate(ordered)}
        links = group_categories.c
        unmasked = session.execute(
            select(links.group_id, Category.slug)
            .join(Category, Category.id == links.category_id)
            .where(
                _between(links.group_id, list(found)),
                ~Category.id.between(MASK_IDS[0], MASK_IDS[-1]),
            )
        )
        for group_id, slug in unmasked:
            if group_id in found:
                found[group_id] = sorted([*found[group_id], slug], key=rank.__getitem__)
    return found


def group_org_ids_of(session, ids):
    """Return {group id: its normalised org-ids, sorted} for the groups of `ids` (ascending)
    that have any."""
    if not ids:
        return {}
    wanted, found = set(ids), {}
    for group_id, value in session.execute(
        select(OrgId.group_id, OrgId.value).where(_between(OrgId.group_id, ids))
    ):
        if group_id in wanted:
            found.setdefault(group_id, []).append(value)
    return {group_id: sorted(values) for group_id, values in found.items()}


def _between(column, ids):
    # A range of two parameters rather than IN of a page's thousand: the ids come in order.
    return column.between(ids[0], ids[-1])


def _identifiers(model):
    return [selectinload(model.identifiers)] if hasattr(model, "identifiers") else []


def count_public(session, model, **filters):
    """Return how many active groups or services match the filters."""
    return session.scalar(
        select(func.count(model.id)).where(*public_filter(session, model, **filters))
    )


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


def boundary_sources(session):
    """Return (the distinct source notes, the sorted vintages) of the current wards' boundaries."""
    rows = session.execute(select(Ward.attribution, Ward.vintage).where(Ward.current).distinct())
    notes, vintages = set(), set()
    for note, vintage in rows:
        notes.add(note)
        vintages.add(vintage)
    return notes, sorted(vintages)


# Each step seeks the next kind in the (status, kind) index: as many seeks as there are
# kinds, however many groups there are.
_ACTIVE_KINDS = text(
    """WITH RECURSIVE kinds(kind, n) AS (
        SELECT min(kind), 1 FROM community_groups WHERE status = 'active'
        UNION ALL
        SELECT (SELECT min(g.kind) FROM community_groups g
                WHERE g.status = 'active' AND g.kind > kinds.kind), n + 1
        FROM kinds WHERE kinds.kind IS NOT NULL AND n <= :most
    )
    SELECT kind FROM kinds WHERE kind IS NOT NULL"""
)


def active_kinds(session, most):
    """Return the kinds of active groups when there are at most `most`, else the `most`
    most used (ties by name); without reading every group in the first case."""
    kinds = session.scalars(_ACTIVE_KINDS, {"most": most}).all()
    if len(kinds) <= most:
        return list(kinds)
    return session.scalars(
        select(CommunityGroup.kind)
        .where(CommunityGroup.status == "active", CommunityGroup.kind.is_not(None))
        .group_by(CommunityGroup.kind)
        .order_by(func.count().desc(), CommunityGroup.kind)
        .limit(most)
    ).all()
