"""The gap analysis: read-only; one row per ward in scope, as a GeoDataFrame.

The method is described in docs/gap-analysis.md. Counts are plain GROUP BYs on the ward id
stored with every group and service (derived from its location when it was saved), so no
spatial join happens here; coordinator coverage and label points are stored with the ward.
"""

from datetime import UTC, date, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import and_, case, exists, func, or_, select

from mapper import db, geo
from mapper.models import (
    Category,
    CommunityGroup,
    Service,
    Ward,
    group_categories,
    group_wards_served,
    service_categories,
)

METHOD = "Community Mapper gap analysis"
METHOD_VERSION = "1.0"

# The activity categories the method expects to find in every ward (docs/gap-analysis.md).
CORE_CATEGORIES = (
    "food-support",
    "older-people",
    "children-young-people",
    "mental-health-wellbeing",
    "physical-activity",
    "advice-money",
    "digital-inclusion",
    "social-befriending",
)

DEFAULT_PARAMS = {
    "core_categories": CORE_CATEGORIES,
    "stale_months": 12,  # a group not verified for this long is stale
    "class_cuts": (1 / 3, 2 / 3),  # percentile cuts between low, medium and high
    "deprived_max_decile": 3,  # IMD deciles 1..3 count as deprived
    "covered_min_share": 0.5,  # a ward at least this much inside patches is covered
}

PROPERTIES = (
    "ward_code",
    "ward_name",
    "la_code",
    "la_name",
    "vintage",
    "population",
    "area_km2",
    "groups",
    "groups_per_1k",
    "groups_serving",
    "groups_stale",
    "services",
    "services_per_1k",
    "categories_present",
    "categories_missing",
    "coordinator_coverage",
    "nearest_group_km",
    "imd_decile",
    "imd_rank",
    "imd_share_10pct",
    "imd_share_20pct",
    "activity_class",
    "priority",
)
ACTIVITY_CLASSES = ("none", "low", "medium", "high")
PRIORITIES = ("priority gap", "develop", "devolution ready", "monitor")


class UnknownValues(ValueError):
    """Some codes or slugs given as filters do not exist; `argument` names the filter."""

    def __init__(self, argument, values):
        super().__init__(f"unknown {argument}: {', '.join(values)}")
        self.argument, self.values = argument, list(values)


def compute_gaps(
    session, la_codes=(), ward_codes=(), categories=(), kinds=(), as_of=None, params=None
):
    """Return the gap analysis of the current wards in scope, one row per ward, by code.

    Without `la_codes` and `ward_codes` every current ward is in scope. `categories` and
    `kinds` narrow which groups count; `as_of` counts the groups active on that date
    instead of those active now. The method's metadata is in `frame.attrs["metadata"]`.
    """
    params = resolve_params(params)
    reference = as_of or date.today()
    wards = _scope(session, la_codes, ward_codes)
    category_ids = list(_category_ids(session, categories, "categories").values())
    analysed = list(dict.fromkeys(categories or params["core_categories"]))
    analysed_ids = _category_ids(session, analysed, "core_categories")
    counted = _counted_groups(as_of, kinds, category_ids)
    scoped = bool(la_codes or ward_codes)
    ids = wards["id"].to_numpy()

    def in_scope(column):
        return [column.in_(ids.tolist())] if scoped else []

    stale_before = _months_before(reference, params["stale_months"])
    groups = _per_ward(session, _groups_query(counted, in_scope, stale_before), ids, 2)
    serving = _per_ward(session, _serving_query(counted, in_scope), ids, 1)
    services = _per_ward(session, _services_query(category_ids, in_scope), ids, 1)
    present = _categories_present(session, counted, scoped, in_scope, analysed_ids, ids)
    nearest = _nearest_km(session, counted, wards, groups[:, 0])

    frame, measure = _assemble(wards, groups, serving, services, present, analysed, nearest, params)
    filters = {
        "la": list(la_codes),
        "ward": list(ward_codes),
        "category": list(categories),
        "kind": list(kinds),
        "as_of": as_of.isoformat() if as_of else None,
        "reference_date": reference.isoformat(),
        "categories_analysed": analysed,
        "activity_measure": measure,
    }
    frame.attrs["metadata"] = _metadata(frame, filters, params)
    return frame


def resolve_params(params=None):
    """Return the method's parameters: the defaults, overridden by `params`."""
    unknown = set(params or {}) - set(DEFAULT_PARAMS)
    if unknown:
        raise UnknownValues("params", sorted(unknown))
    resolved = {**DEFAULT_PARAMS, **(params or {})}
    resolved["core_categories"] = tuple(resolved["core_categories"])
    resolved["class_cuts"] = tuple(float(v) for v in resolved["class_cuts"])
    return resolved


def _scope(session, la_codes, ward_codes):
    query = (
        select(
            Ward.id,
            Ward.code,
            Ward.name,
            Ward.la_code,
            Ward.la_name,
            Ward.vintage,
            Ward.population,
            Ward.area_km2,
            Ward.coordinator_coverage,
            Ward.imd_decile,
            Ward.imd_rank,
            Ward.imd_share_10pct,
            Ward.imd_share_20pct,
            func.ST_X(Ward.label_point).label("label_lon"),
            func.ST_Y(Ward.label_point).label("label_lat"),
            func.ST_AsBinary(Ward.geom).label("wkb"),
        )
        .where(Ward.current)
        .order_by(Ward.code)
    )
    for argument, column, values in (
        ("la_codes", Ward.la_code, la_codes),
        ("ward_codes", Ward.code, ward_codes),
    ):
        if values:
            query = query.where(column.in_(list(values)))
            found = set(session.scalars(select(column).where(Ward.current, column.in_(values))))
            missing = [v for v in dict.fromkeys(values) if v not in found]
            if missing:
                raise UnknownValues(argument, missing)
    rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=list(query.selected_columns.keys()))


def _category_ids(session, slugs, argument):
    slugs = list(dict.fromkeys(slugs))
    query = select(Category.slug, Category.id).where(Category.slug.in_(slugs))
    found = {slug: id_ for slug, id_ in session.execute(query)}
    missing = [s for s in slugs if s not in found]
    if missing:
        raise UnknownValues(argument, missing)
    return {slug: found[slug] for slug in slugs}


def _counted_groups(as_of, kinds, category_ids):
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
    if category_ids:
        clauses.append(
            exists()
            .where(
                group_categories.c.group_id == group.id,
                group_categories.c.category_id.in_(category_ids),
            )
            .correlate_except(group_categories)
        )
    return clauses


def _groups_query(counted, in_scope, stale_before):
    """Per ward: counted groups based there, and how many of them are stale."""
    group = CommunityGroup
    stale = or_(group.last_verified.is_(None), group.last_verified < stale_before)
    return (
        select(group.ward_id, func.count(), func.sum(case((stale, 1), else_=0)))
        .where(*counted, *in_scope(group.ward_id))
        .group_by(group.ward_id)
    )


def _serving_query(counted, in_scope):
    """Per ward: counted groups based elsewhere (or nowhere) that say they serve it."""
    served = group_wards_served.c
    group = CommunityGroup
    return (
        select(served.ward_id, func.count())
        .join(group, group.id == served.group_id)
        .where(
            *counted,
            *in_scope(served.ward_id),
            or_(group.ward_id.is_(None), group.ward_id != served.ward_id),
        )
        .group_by(served.ward_id)
    )


def _services_query(category_ids, in_scope):
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


def _per_ward(session, query, ids, width):
    """Run a `ward_id, value...` query; return a (len(ids), width) array, 0 where absent."""
    result = np.zeros((len(ids), width), dtype=np.int64)
    rows = [tuple(r) for r in session.execute(query) if r[0] is not None]
    if rows:
        rows = np.array(rows, dtype=np.int64)
        position = pd.Index(ids).get_indexer(rows[:, 0])
        result[position[position >= 0]] = rows[position >= 0, 1:]
    return result


def _categories_present(session, counted, scoped, in_scope, analysed_ids, ids):
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


def _nearest_km(session, counted, wards, counts):
    """Return the great-circle distance (km) from each ward's label point to the nearest
    counted group anywhere, or NaN when no group counts.

    Searches a box around each label point that holds the circle of radius r; a nearest
    candidate within r is the nearest group. Wards not settled search again, out to their
    nearest candidate, or 2r without one.
    """
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


def _months_before(day, months):
    """Return the date `months` calendar months before `day` (the last day if shorter)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _per_1k(counts, population):
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(population > 0, counts * 1000 / population, np.nan)
    return np.round(rate, 3)


def _assemble(wards, groups, serving, services, present, analysed, nearest, params):
    population = wards["population"].to_numpy(dtype=float, na_value=np.nan)
    coverage = wards["coordinator_coverage"].to_numpy(dtype=float, na_value=np.nan)
    names = np.array(analysed, dtype=object)
    frame = pd.DataFrame(
        {
            "ward_code": wards["code"],
            "ward_name": wards["name"],
            "la_code": wards["la_code"],
            "la_name": wards["la_name"],
            "vintage": wards["vintage"],
            "population": wards["population"].astype("Int64"),
            "area_km2": wards["area_km2"].astype(float).round(3),
            "groups": groups[:, 0],
            "groups_per_1k": _per_1k(groups[:, 0], population),
            "groups_serving": serving[:, 0],
            "groups_stale": groups[:, 1],
            "services": services[:, 0],
            "services_per_1k": _per_1k(services[:, 0], population),
            "categories_present": [names[row].tolist() for row in present],
            "categories_missing": [names[~row].tolist() for row in present],
            "coordinator_coverage": np.round(coverage, 3),
            "nearest_group_km": np.round(nearest, 3),
            "imd_decile": wards["imd_decile"].astype("Int64"),
            "imd_rank": wards["imd_rank"].astype(float),
            "imd_share_10pct": wards["imd_share_10pct"].astype(float),
            "imd_share_20pct": wards["imd_share_20pct"].astype(float),
        }
    )
    measure, measure_name = activity_measure(groups[:, 0], population, wards["area_km2"])
    frame["activity_class"] = activity_classes(measure, params["class_cuts"])
    frame["priority"] = priorities(
        frame["activity_class"].to_numpy(),
        wards["imd_decile"].to_numpy(dtype=float, na_value=np.nan),
        coverage,
        params,
    )
    geometry = shapely.from_wkb(wards["wkb"].tolist()) if len(wards) else []
    return gpd.GeoDataFrame(frame, geometry=list(geometry), crs=geo.WGS84), measure_name


def activity_measure(groups, population, area_km2):
    """Return (measure, name): groups per 1,000 residents where every ward has a
    population, otherwise groups per km² for all wards alike."""
    population = np.asarray(population, dtype=float)
    if len(population) and np.all(population > 0):
        return groups * 1000 / population, "groups_per_1k"
    area = np.asarray(area_km2, dtype=float)
    return np.where(area > 0, groups / np.where(area > 0, area, 1), 0.0), "groups_per_km2"


def activity_classes(measure, cuts):
    """Return none/low/medium/high: none without groups, otherwise by the ward's mid-rank
    percentile among the wards in scope that have groups (a tie on a cut goes outwards)."""
    measure = np.asarray(measure, dtype=float)
    classes = np.full(len(measure), "none", dtype=object)
    active = measure > 0
    if active.any():
        ranks = pd.Series(measure[active]).rank(method="average").to_numpy()
        percentile = (ranks - 0.5) / active.sum()
        low, high = cuts
        tolerance = 1e-9
        classes[active] = np.where(
            percentile <= low + tolerance,
            "low",
            np.where(percentile >= high - tolerance, "high", "medium"),
        )
    return classes


def priorities(classes, imd_deciles, coverage, params):
    """Return each ward's priority from its activity, deprivation and coordinator coverage."""
    little = np.isin(classes, ("none", "low"))
    deprived = np.nan_to_num(imd_deciles, nan=99) <= params["deprived_max_decile"]
    covered = np.nan_to_num(coverage, nan=0.0) >= params["covered_min_share"]
    return np.select(
        [little & deprived & ~covered, little & deprived & covered, (classes == "high") & covered],
        ["priority gap", "develop", "devolution ready"],
        default="monitor",
    ).astype(object)


def _metadata(frame, filters, params):
    vintages = sorted(set(frame["vintage"]))
    return {
        "method": METHOD,
        "method_version": METHOD_VERSION,
        "documentation": "docs/gap-analysis.md",
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "parameters": {
            **filters,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        },
        "counts": {
            "wards": len(frame),
            "groups": int(frame["groups"].sum()),
            "groups_serving": int(frame["groups_serving"].sum()),
            "groups_stale": int(frame["groups_stale"].sum()),
            "services": int(frame["services"].sum()),
            "activity_class": _tally(frame["activity_class"], ACTIVITY_CLASSES),
            "priority": _tally(frame["priority"], PRIORITIES),
        },
        "boundary_vintage": vintages[0] if len(vintages) == 1 else vintages,
    }


def _tally(values, names):
    counts = pd.Series(values).value_counts()
    return {name: int(counts.get(name, 0)) for name in names}
