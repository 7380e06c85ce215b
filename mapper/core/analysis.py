"""The gap analysis: read-only; one row per ward in scope, as a GeoDataFrame.

The method is described in docs/gap-analysis.md. The counts (`core/ward_counts.py`) are
GROUP BYs on the ward id stored with every group and service (derived from its location
when it was saved), the categories present coming from each group's category bit mask in
the same pass, so no spatial join happens here; coordinator coverage and label points are
stored with the ward. A repeated question at the same data version is answered from the
database's cache (`store/version.py`).
"""

import time
from datetime import UTC, date, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, select

from mapper import config, geo
from mapper.core import gap_updates, reach, ward_counts
from mapper.io import exports
from mapper.store import db, kept, version
from mapper.store.models import (
    Category,
    Ward,
)

METHOD = "Community Mapper gap analysis"
METHOD_VERSION = "1.1"  # 1.1: reach_<category>, reach_core

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
    "reach_metres": 800,  # walking distance to a group or service (config REACH_METRES)
    "detour_factor": 1.2,  # walking distance = straight line x this (REACH_DETOUR_FACTOR)
    "priority_by": "activity",  # or "reach": what `priority` ranks wards by (PRIORITY_BY)
}
PRIORITY_MEASURES = ("activity", "reach")

BASE_PROPERTIES = (
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
)


def properties(analysed=CORE_CATEGORIES):
    """Return the analysis's property names, in order, when `analysed` are the categories
    analysed: reach_<category> for each of them and reach_core come before the classes."""
    reach_columns = [reach.column_name(slug) for slug in analysed]
    return (*BASE_PROPERTIES, *reach_columns, "reach_core", "activity_class", "priority")


PROPERTIES = properties()  # those of the analysis of the core categories (no `category`)
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
    A repeated question at the same data version is answered from the database's cache.
    """
    params = resolve_params({**session.info.get(db.ANALYSIS_PARAMS, {}), **(params or {})})
    arguments = (tuple(la_codes), tuple(ward_codes), tuple(categories), tuple(kinds), as_of)
    cache = version.cache_of(session)
    if cache is None or session.new or session.dirty or session.deleted:
        return _compute(session, *arguments, params)
    if session.info.get(version.CHANGED):  # this transaction's writes are not versioned yet
        return _compute(session, *arguments, params)
    now = version.current(session)
    question = (date.today(), arguments, repr(sorted(params.items())))
    found = cache.get(("gaps", now, *question))
    if found is None:
        latest = cache.get(("gaps-latest", *question))
        keeper = session.info.get(kept.KEEPER)
        elsewhere = _kept_elsewhere(session, keeper, question, now) if latest is None else None
        started = time.perf_counter()
        found = _brought_up(session, latest or elsewhere, now, arguments, params)
        if keeper and _worth_keeping(elsewhere, now, time.perf_counter() - started):
            (frame, inputs, attrs, _tree), size = found  # the tree is rebuilt where needed
            keeper.put_later(
                session, _kept_key(question), now, ((frame, inputs, attrs, None), size)
            )
        cache.put(("gaps", now, *question), found, size=found[1])
        if latest is None or latest[0] < now:
            cache.put(("gaps-latest", *question), (now, *found), size=found[1])
    (frame, _inputs, attrs, _tree), _size = found
    answer = frame.copy()
    answer.attrs = gap_updates.copied(attrs)
    return answer


def _kept_key(question):
    return kept.question_key(
        "gaps", METHOD_VERSION, config.RELEASE, pd.__version__, gpd.__version__, *question
    )


def _kept_elsewhere(session, keeper, question, now):
    """Return (version, entry, size) of the answer `keeper` (store/kept.py, or None) holds in
    the database for `question`, kept by any process at a version up to `now`, or None."""
    found = keeper.get(session, _kept_key(question)) if keeper else None
    if found is None or found[0] > now:
        return None
    return found[0], *found[1]


def _worth_keeping(elsewhere, now, seconds):
    """Whether to keep an answer in the database for the other processes: it took long to
    get, or the one kept there (`elsewhere`) was many versions behind."""
    behind = elsewhere is not None and now - elsewhere[0] >= kept.KEEP_VERSIONS
    return seconds >= kept.KEEP_SECONDS or behind


def _brought_up(session, latest, now, arguments, params):
    """Return ((frame, inputs, attrs, tree), size) at version `now`: the `latest` (version,
    entry, size) kept for the same question brought up to date (`gap_updates.updated`) when
    the journal says what changed since and that is little, otherwise computed afresh. The
    frame is kept without its attrs, which pandas would copy deeply on every column read."""
    if latest is not None and latest[0] == now:  # kept in the database at this version
        return latest[1], latest[2]
    if latest is not None and latest[0] < now:
        changes = version.changes_between(session, latest[0], now)
        if changes is not None:

            def compute(codes):
                return _computed(session, (), codes, *arguments[2:], params, whole=False)

            def finish(frame, inputs, metadata):
                metadata["parameters"]["activity_measure"] = _classify(frame, inputs, params)
                metadata["counts"] = summary_counts(frame)
                metadata["generated_at"] = _now()

            entry = gap_updates.updated(latest[1], changes, compute, finish, params)
            if entry is not None:
                return entry, latest[2]
    frame, inputs = _computed(session, *arguments, params)
    attrs, frame.attrs = frame.attrs, {}
    return (frame, inputs, attrs, None), int(
        exports.without_metadata(frame).memory_usage(deep=True).sum()
    )


def _compute(session, la_codes, ward_codes, categories, kinds, as_of, params):
    return _computed(session, la_codes, ward_codes, categories, kinds, as_of, params)[0]


def _computed(session, la_codes, ward_codes, categories, kinds, as_of, params, whole=True):
    """Return (frame, inputs): the analysis, and per ward (by code) what its classes are cut
    from, unrounded (see `_classify`), with its id and label point. Unless `whole`, the rows
    are for a kept analysis to take in: without classes, priorities or metadata."""
    reference = as_of or date.today()
    wards = _scope(session, la_codes, ward_codes)
    category_ids = list(_category_ids(session, categories, "categories").values())
    analysed = list(dict.fromkeys(categories or params["core_categories"]))
    analysed_ids = _category_ids(session, analysed, "core_categories")
    counted = ward_counts.counted_groups(as_of, kinds, category_ids)
    scoped = bool(la_codes or ward_codes)
    ids = wards["id"].to_numpy()

    def in_scope(column):
        return [column.in_(ids.tolist())] if scoped else []

    stale_before = _months_before(reference, params["stale_months"])
    groups, present = ward_counts.groups_and_categories(
        session, counted, scoped, in_scope, stale_before, analysed_ids, ids
    )
    serving = ward_counts.per_ward(session, ward_counts.serving_query(counted, in_scope), ids, 1)
    services = ward_counts.per_ward(
        session, ward_counts.services_query(category_ids, in_scope), ids, 1
    )
    nearest = ward_counts.nearest_km(session, counted, wards, groups[:, 0])
    geoms = shapely.from_wkb(wards["wkb"].tolist()) if len(wards) else np.empty(0, object)
    shares, residents = reach.reach_shares(
        session, geoms, wards["code"].tolist(), counted, analysed_ids, params
    )

    core = shares.mean(axis=1) if len(analysed) else np.full(len(wards), np.nan)
    frame = _assemble(wards, groups, serving, services, present, nearest, analysed, shares, core)
    inputs = pd.DataFrame(
        {
            "ward_id": ids,
            "area_km2": wards["area_km2"].to_numpy(dtype=float, na_value=np.nan),
            "coverage": wards["coordinator_coverage"].to_numpy(dtype=float, na_value=np.nan),
            "reach_core": core,
            "nearest_km": nearest,
            "label_lon": wards["label_lon"].to_numpy(dtype=float, na_value=np.nan),
            "label_lat": wards["label_lat"].to_numpy(dtype=float, na_value=np.nan),
        },
        index=wards["code"].to_numpy(),
    )
    if not whole:
        return frame, inputs
    measure = _classify(frame, inputs, params)
    filters = {
        "la": list(la_codes),
        "ward": list(ward_codes),
        "category": list(categories),
        "kind": list(kinds),
        "as_of": as_of.isoformat() if as_of else None,
        "reference_date": reference.isoformat(),
        "categories_analysed": analysed,
        "activity_measure": measure,
        "reach_residents": residents,
    }
    frame.attrs["metadata"] = _metadata(frame, filters, params)
    frame.attrs["metadata"]["boundary_attribution"] = boundary_notes(wards["attribution"])
    return frame, inputs


def boundary_notes(notes):
    """Return the wards' distinct boundary source notes, None (the configured attribution)
    first: what `io.exports.attribution_of` states."""
    values = {None if n is None or n != n else str(n) for n in notes}
    return sorted(values, key=lambda n: (n is not None, n or ""))


def resolve_params(params=None):
    """Return the method's parameters: the defaults, overridden by `params`."""
    unknown = set(params or {}) - set(DEFAULT_PARAMS)
    if unknown:
        raise UnknownValues("params", sorted(unknown))
    resolved = {**DEFAULT_PARAMS, **(params or {})}
    resolved["core_categories"] = tuple(resolved["core_categories"])
    resolved["class_cuts"] = tuple(float(v) for v in resolved["class_cuts"])
    resolved["reach_metres"] = float(resolved["reach_metres"])
    resolved["detour_factor"] = float(resolved["detour_factor"])
    if not resolved["reach_metres"] > 0:
        raise UnknownValues("reach_metres", [str(resolved["reach_metres"])])
    if not resolved["detour_factor"] >= 1:
        raise UnknownValues("detour_factor", [str(resolved["detour_factor"])])
    if resolved["priority_by"] not in PRIORITY_MEASURES:
        raise UnknownValues("priority_by", [str(resolved["priority_by"])])
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
            Ward.attribution,
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


def _months_before(day, months):
    """Return the date `months` calendar months before `day` (the last day if shorter)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    if year < date.min.year:  # before the first day there is: nothing is that old
        return date.min
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    return date.min  # not reached: the 28th is in every month


def _per_1k(counts, population):
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(population > 0, counts * 1000 / population, np.nan)
    return np.round(rate, 3)


def _assemble(wards, groups, serving, services, present, nearest, analysed, shares, core):
    """The analysis's columns in order; the reach of each analysed category (`shares`, one
    column each) and their mean (`core`) come just before the classes."""
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
            **{
                reach.column_name(slug): np.round(shares[:, offset], 3)
                for offset, slug in enumerate(analysed)
            },
            "reach_core": np.round(core, 3),
            "activity_class": None,  # cut by _classify
            "priority": None,
        }
    )
    geometry = shapely.from_wkb(wards["wkb"].tolist()) if len(wards) else []
    return gpd.GeoDataFrame(frame, geometry=list(geometry), crs=geo.WGS84)


def _classify(frame, inputs, params):
    """Cut the activity classes and priorities of the whole frame (they rank its wards
    against each other) from its counts and the unrounded `inputs`; with priority_by
    "reach", the priority ranks wards by reach_core instead. Return the measure's name."""
    population = frame["population"].to_numpy(dtype=float, na_value=np.nan)
    groups = frame["groups"].to_numpy()
    measure, name = activity_measure(groups, population, inputs["area_km2"].to_numpy())
    frame["activity_class"] = activity_classes(measure, params["class_cuts"])
    ranked = frame["activity_class"].to_numpy()
    if params["priority_by"] == "reach":
        ranked = activity_classes(inputs["reach_core"].to_numpy(), params["class_cuts"])
    frame["priority"] = priorities(
        ranked,
        frame["imd_decile"].to_numpy(dtype=float, na_value=np.nan),
        inputs["coverage"].to_numpy(),
        params,
    )
    return name


def reach_description(frame, names):
    """Return {"metres", "names"} of the analysis's reach for profiles.figures: the walking
    distance and {reach column: category name} (`names` maps slugs to names)."""
    parameters = frame.attrs["metadata"]["parameters"]
    analysed = parameters["categories_analysed"]
    return {
        "metres": parameters["reach_metres"],
        "names": {reach.column_name(slug): names.get(slug, slug) for slug in analysed},
    }


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
    return {
        "method": METHOD,
        "method_version": METHOD_VERSION,
        "documentation": "docs/gap-analysis.md",
        "generated_at": _now(),
        "parameters": {
            **filters,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        },
        "counts": summary_counts(frame),
        "boundary_vintage": boundary_vintage(frame),
    }


def _now():
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def summary_counts(frame):
    """Return the metadata's counts of analysis rows: wards, sums, wards per class."""
    return {
        "wards": len(frame),
        "groups": int(frame["groups"].sum()),
        "groups_serving": int(frame["groups_serving"].sum()),
        "groups_stale": int(frame["groups_stale"].sum()),
        "services": int(frame["services"].sum()),
        "activity_class": _tally(frame["activity_class"], ACTIVITY_CLASSES),
        "priority": _tally(frame["priority"], PRIORITIES),
    }


def boundary_vintage(frame):
    """Return the rows' boundary vintage: one value, or a sorted list when they differ."""
    vintages = sorted(set(frame["vintage"]))
    return vintages[0] if len(vintages) == 1 else vintages


def _tally(values, names):
    counts = pd.Series(values).value_counts()
    return {name: int(counts.get(name, 0)) for name in names}
