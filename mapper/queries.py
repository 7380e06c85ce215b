"""Read-only look-ups of public records: wards, groups, services."""

import shapely
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from mapper import db
from mapper.models import (
    Category,
    CommunityGroup,
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


def category_vocabulary(session):
    """Return {slug or lower-case name: slug} for every category."""
    vocabulary = {}
    for slug, name in session.execute(select(Category.slug, Category.name)):
        vocabulary[name.lower()] = slug
        vocabulary[slug] = slug
    return vocabulary


def postcode_lonlats(session, postcodes, chunk=1000):
    """Return {postcode: (lon, lat)} for those of `postcodes` ('M1 1AA' form) that are known."""
    postcodes = list(postcodes)
    found = {}
    for start in range(0, len(postcodes), chunk):
        query = select(Postcode.postcode, Postcode.lon, Postcode.lat).where(
            Postcode.postcode.in_(postcodes[start : start + chunk])
        )
        found.update({code: (lon, lat) for code, lon, lat in session.execute(query)})
    return found


def known_ward_codes(session, codes):
    """Return those of `codes` that some ward (of any vintage) has."""
    return set(session.scalars(select(Ward.code).where(Ward.code.in_(set(codes)))))


# The link table from each located model to its categories, and its column naming the record.
CATEGORY_LINKS = {
    CommunityGroup: group_categories.c.group_id,
    Service: service_categories.c.service_id,
}


def current_ward_filter(session, lonlat_box=None, la_codes=(), codes=()):
    """Return the WHERE clauses choosing the current wards that match."""
    clauses = [Ward.current]
    if lonlat_box:
        clauses.append(db.bbox_filter(Ward.geom, lonlat_box, session))
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
):
    """Return the WHERE clauses choosing the groups or services (active by default) that match.

    `lonlat_box` goes through the spatial index; wards and categories are sub-selects, so the
    same clauses serve a page and its count. With `organisation_id`, records that are not
    active are those of that organisation only.
    """
    clauses = [model.status.in_(statuses)]
    if organisation_id is not None:
        clauses.append(or_(model.status == "active", model.organisation_id == organisation_id))
    if lonlat_box:
        clauses.append(db.bbox_filter(model.geom, lonlat_box, session))
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
    return clauses


def public_records(session, model, after=0, limit=100, **filters):
    """Return up to `limit` groups or services with id above `after`, ordered by id."""
    query = (
        select(model)
        .where(*public_filter(session, model, **filters), model.id > after)
        .options(selectinload(model.categories), selectinload(model.ward))
        .order_by(model.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def count_public(session, model, **filters):
    """Return how many active groups or services match the filters."""
    return session.scalar(
        select(func.count(model.id)).where(*public_filter(session, model, **filters))
    )
