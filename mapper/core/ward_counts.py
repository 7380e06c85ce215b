"""The per-ward counts the gap analysis is built from: one GROUP BY pass over the groups
(counts, stale counts and the categories present, from each group's category bit mask),
the groups serving each ward, the services, and the nearest group to each ward.

Everything here reads; `analysis.compute_gaps` puts the answers together.
"""

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, and_, case, exists, func, literal, or_, select

from mapper import geo
from mapper.store import db, models
from mapper.store.models import (
    CommunityGroup,
    Service,
    group_categories,
    group_wards_served,
    service_categories,
)

MASK_IDS = models.MASK_IDS  # here, so that a test can take the bits away


def counted_groups(as_of, kinds, category_ids):
    """The WHERE clauses choosing the groups that count: active (on `as_of`), filtered."""
    group = CommunityGroup
    if as_of is None:
        clauses = [group.status == "active"]
    else:
        started = func.coalesce(group.active_from, func.date(group.created_at))
        clauses = [
            group.status != "pending",
            started <= as_of,
            or_(
                group.active_until >= as_of,
                and_(group.active_until.is_(None), group.status == "active"),
            ),
        ]
    if kinds:
        clauses.append(func.lower(group.kind).in_([k.lower() for k in kinds]))
    if category_ids and all(i in MASK_IDS for i in category_ids):
        # The group's category bit mask (in the covering index), not a subquery per group.
        bits = literal(models.category_mask_of(category_ids), BigInteger)
        clauses.append(group.category_mask.op("&")(bits) != 0)
    elif category_ids:
        clauses.append(
            exists()
            .where(
                group_categories.c.group_id == group.id,
                group_categories.c.category_id.in_(category_ids),
            )
            .correlate_except(group_categories)
        )
    return clauses


def groups_query(counted, in_scope, stale_before):
    """Per ward: counted groups based there, and how many of them are stale."""
    group = CommunityGroup
    stale = or_(group.last_verified.is_(None), group.last_verified < stale_before)
    return (
        select(group.ward_id, func.count(), func.sum(case((stale, 1), else_=0)))
        .where(*counted, *in_scope(group.ward_id))
        .group_by(group.ward_id)
    )


def serving_query(counted, in_scope):
    """Per ward: counted groups based elsewhere (or nowhere) that say they serve it."""
    served = group_wards_served.c
    group = CommunityGroup
    # From the links (by their ward index when scoped) to each one's group by its key: left
    # to itself, SQLite would read every active group for more than a few wards.
    links = db.OrderedJoin(group_wards_served, group, group.id == served.group_id)
    return (
        select(served.ward_id, func.count())
        .select_from(links)
        .where(
            *counted,
            *in_scope(served.ward_id),
            or_(group.ward_id.is_(None), group.ward_id != served.ward_id),
        )
        .group_by(served.ward_id)
    )


def services_query(category_ids, in_scope):
    """Per ward: active services based there (of the categories asked, if any)."""
    query = select(Service.ward_id, func.count()).where(
        Service.status == "active", *in_scope(Service.ward_id)
    )
    if category_ids:
        link = service_categories.c
        query = query.where(
            exists()
            .where(link.service_id == Service.id, link.category_id.in_(category_ids))
            .correlate_except(service_categories)
        )
    return query.group_by(Service.ward_id)


def per_ward(session, query, ids, width):
    """Run a `ward_id, value...` query; return a (len(ids), width) array, 0 where absent."""
    result = np.zeros((len(ids), width), dtype=np.int64)
    rows = [tuple(r) for r in session.execute(query) if r[0] is not None]
    if rows:
        rows = np.array(rows, dtype=np.int64)
        position = pd.Index(ids).get_indexer(rows[:, 0])
        result[position[position >= 0]] = rows[position >= 0, 1:]
    return result


def categories_present(session, counted, scoped, in_scope, analysed_ids, ids):
    """Return a (ward, analysed category) table: True where a counted group has it."""
    # For every ward, loop over the links first and look each link's group up by its id;
    # for a few wards, start from their groups.
    on = CommunityGroup.id == group_categories.c.group_id
    if scoped:
        links = group_categories.join(CommunityGroup, on)
    else:
        links = db.OrderedJoin(group_categories, CommunityGroup, on)
    query = (
        select(CommunityGroup.ward_id, group_categories.c.category_id)
        .select_from(links)
        .where(
            *counted,
            *in_scope(CommunityGroup.ward_id),
            CommunityGroup.ward_id.is_not(None),
            group_categories.c.category_id.in_(list(analysed_ids.values())),
        )
        .distinct()
    )
    rows = np.array([tuple(r) for r in session.execute(query)], dtype=np.int64).reshape(-1, 2)
    ward_position = pd.Index(ids).get_indexer(rows[:, 0])
    category_position = pd.Index(list(analysed_ids.values())).get_indexer(rows[:, 1])
    present = np.zeros((len(ids), len(analysed_ids)), dtype=bool)
    known = ward_position >= 0
    present[ward_position[known], category_position[known]] = True
    return present


def nearest_km(session, counted, wards, counts):
    """Return the great-circle distance (km) from each ward's label point to the nearest
    counted group anywhere, or NaN when no group counts.

    Searches a box around each label point that holds the circle of radius r; a nearest
    candidate within r is the nearest group. Wards not settled search again, out to their
    nearest candidate, or 2r without one. Only groups published at their exact point are
    measured to: the distances of many wards must not triangulate an approximate or hidden
    group (which still counts in its ward).
    """
    counted = (*counted, CommunityGroup.location_precision == "exact")
    lon, lat = wards["label_lon"].to_numpy(float), wards["label_lat"].to_numpy(float)
    area = wards["area_km2"].to_numpy(float)
    # Start at about the spacing of the ward's own groups: the search then settles most
    # wards at the first or second try while reading few candidates (affects speed only).
    radius = 0.5 * np.sqrt(np.maximum(area, 0.01) / np.maximum(counts, 1))
    nearest = np.full(len(wards), np.nan)
    pending = np.arange(len(wards))
    if not session.scalar(select(exists().where(*counted))):
        return nearest
    while len(pending):
        boxes = geo.boxes_around(lon[pending], lat[pending], radius[pending])
        joined, box_number, (from_lon, from_lat) = db.boxes_join(
            CommunityGroup.geom, np.column_stack([boxes, lon[pending], lat[pending]]), session
        )
        distance = _haversine_km_sql(
            from_lon, from_lat, func.ST_X(CommunityGroup.geom), func.ST_Y(CommunityGroup.geom)
        )
        rows = session.execute(
            select(box_number, func.min(distance))
            .select_from(joined)
            .where(*counted)
            .group_by(box_number)
        ).all()
        best = np.full(len(pending), np.inf)
        if rows:
            found = np.array([tuple(r) for r in rows], dtype=float)
            best[found[:, 0].astype(np.int64)] = found[:, 1]
        # Within r the nearest candidate is the nearest group; a box that is the whole Earth
        # holds every group.
        done = (best <= radius[pending]) | (radius[pending] >= np.pi * geo.EARTH_RADIUS_KM)
        nearest[pending[done]] = best[done]
        # Otherwise the nearest candidate bounds the distance; without one, look twice as far.
        radius[pending] = np.where(np.isfinite(best), best * (1 + 1e-9), radius[pending] * 2)
        pending = pending[~done]
    return nearest


def _haversine_km_sql(lon1, lat1, lon2, lat2):
    """The great-circle distance in km between lon/lat columns, as geo.haversine_km does it."""
    lon1, lat1, lon2, lat2 = (func.radians(v) for v in (lon1, lat1, lon2, lat2))
    half_lat, half_lon = func.sin((lat2 - lat1) / 2), func.sin((lon2 - lon1) / 2)
    a = half_lat * half_lat + func.cos(lat1) * func.cos(lat2) * half_lon * half_lon
    return 2 * geo.EARTH_RADIUS_KM * func.asin(func.sqrt(a))


def groups_and_categories(session, counted, scoped, in_scope, stale_before, analysed_ids, ids):
    """Per ward: counted groups, the stale ones, and which analysed categories they have.

    One pass: the categories come from each group's category bit mask in the same GROUP BY
    (the covering index holds it). A category without a bit (an id past MASK_IDS, which
    only admins' additions reach) falls back to the join of `categories_present`.
    Returns ((len(ids), 2) counts, (len(ids), len(analysed_ids)) booleans).
    """
    category_ids = list(analysed_ids.values())
    query = groups_query(counted, in_scope, stale_before)
    if not all(i in MASK_IDS for i in category_ids):
        groups = per_ward(session, query, ids, 2)
        return groups, categories_present(session, counted, scoped, in_scope, analysed_ids, ids)
    mask = CommunityGroup.category_mask
    bits = [func.max(mask.op("&")(literal(1 << i, BigInteger))) for i in category_ids]
    figures = per_ward(session, query.add_columns(*bits), ids, 2 + len(category_ids))
    return figures[:, :2], figures[:, 2:] > 0
