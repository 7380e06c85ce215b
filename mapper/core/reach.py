"""Reach: the share of each ward's residents within walking distance of at least one counted
group or service of each category, wherever that group or service is (across ward and local
authority edges).

Residents are the postcode centroids of the imported postcode directory that fall in the ward,
each weighted by its residents when the directory had a population column (a postcode without
a figure counts one; a ward whose postcodes all have 0 counts each of them one, as if
unweighted, rather than having no share); a ward without any imported postcode is covered by
a regular grid of points (each one) over its area instead, and the metadata says which wards
that was, and whether any postcode carried a figure (`weighted`). The walking distance is
the straight line in British National Grid (EPSG:27700) times a detour factor, so a point
counts as reached when the straight line to a group is at most
`reach_metres / detour_factor`. The method is described in docs/gap-analysis.md ("Reach").

Computed in memory with shapely's STRtree (one tree of the groups and services per category,
queried with every resident point for those within the distance: 3 times faster than a
nearest-within query here), which benchmarks/reach.py measures; the database only hands over the
points inside the scope's box grown by the distance, through its spatial index.
"""

import numpy as np
import shapely
from sqlalchemy import func, select

from mapper import geo
from mapper.store import db, queries
from mapper.store.models import CommunityGroup, Service, group_categories, service_categories

# A ward without postcodes gets a grid of about this many points (spacing 25 m to 250 m).
GRID_POINTS = 400
GRID_SPACING_M = (25.0, 250.0)


def column_name(slug):
    """Return the analysis column of a category's reach: reach_<slug>, '-' as '_'."""
    return "reach_" + slug.replace("-", "_")


def reach_shares(session, ward_geoms, ward_codes, counted, analysed_ids, params):
    """Return (shares, residents): a (ward, analysed category) array of the share (0..1) of
    each ward's residents reached (resident points by their weight), and the metadata
    describing the resident points.

    `ward_geoms` are lon/lat polygons; `counted` the WHERE clauses of the counted groups.
    """
    shares = np.zeros((len(ward_geoms), len(analysed_ids)))
    if not len(ward_geoms):
        return shares, {"source": "postcodes", "grid_wards": [], "weighted": False}
    straight = float(params["reach_metres"]) / float(params["detour_factor"])
    to_bng = geo.transformer(geo.WGS84, f"EPSG:{geo.BNG}")
    box = geo.expand_box(shapely.total_bounds(ward_geoms), straight + 100)
    x, y, weights, ward_of, about = resident_points(session, ward_geoms, ward_codes, to_bng)
    residents = shapely.points(x, y)
    per_ward = np.bincount(ward_of, weights=weights, minlength=len(ward_geoms))
    places = activity_points(session, box, counted, list(analysed_ids.values()))
    for column, category_id in enumerate(analysed_ids.values()):
        lon, lat = places.get(category_id, (np.empty(0), np.empty(0)))
        if not len(lon):
            continue
        tree = shapely.STRtree(shapely.points(*to_bng.transform(lon, lat)))
        reached = tree.query(residents, predicate="dwithin", distance=straight)[0]
        reached = np.unique(reached)
        hits = np.bincount(ward_of[reached], weights=weights[reached], minlength=len(ward_geoms))
        shares[:, column] = hits / np.where(per_ward > 0, per_ward, 1)
    source = "grid" if len(about["grid_wards"]) == len(ward_geoms) else "postcodes"
    return shares, {"source": source, **about}


def resident_points(session, ward_geoms, ward_codes, to_bng):
    """Return (x, y, weight, ward index, about) of the resident points in BNG; `about` has
    the codes of the wards on a grid and whether any postcode in them had a figure.

    Postcodes are given to wards by the ward assignment rule (`geo.locate`) and weighted by
    their residents (one without a figure counts one; a ward whose figures sum to 0 counts
    each postcode one); a ward that gets none is covered by a grid of points of weight one.
    """
    box = shapely.total_bounds(ward_geoms)
    lons, lats, figures = queries.postcodes_in_box(session, box, residents=True)
    ward_of = geo.locate(shapely.points(lons, lats), ward_geoms, list(ward_codes))
    inside = ward_of >= 0
    x, y = to_bng.transform(lons[inside], lats[inside])
    weights, owners = np.nan_to_num(figures[inside], nan=1.0), ward_of[inside]
    unpeopled = np.bincount(owners, weights=weights, minlength=len(ward_geoms)) == 0
    weights[unpeopled[owners]] = 1.0
    xs, ys, ws, owners, grid_wards = [np.asarray(x)], [np.asarray(y)], [weights], [owners], []
    empty = np.setdiff1d(np.arange(len(ward_geoms)), ward_of[inside])
    for index in empty:
        gx, gy = grid_points(shapely.transform(ward_geoms[index], _projector(to_bng)))
        xs.append(gx), ys.append(gy), owners.append(np.full(len(gx), index))
        ws.append(np.ones(len(gx)))
        grid_wards.append(str(ward_codes[index]))
    return (
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(ws),
        np.concatenate(owners),
        {"grid_wards": grid_wards, "weighted": bool(np.isfinite(figures[inside]).any())},
    )


def grid_points(polygon):
    """Return (x, y) of a regular grid of points inside a projected polygon (its
    representative point when the polygon is too small for the grid)."""
    area = polygon.area
    spacing = float(np.clip(np.sqrt(area / GRID_POINTS), *GRID_SPACING_M)) if area else 1.0
    min_x, min_y, max_x, max_y = polygon.bounds
    gx, gy = np.meshgrid(
        np.arange(min_x + spacing / 2, max_x, spacing),
        np.arange(min_y + spacing / 2, max_y, spacing),
    )
    gx, gy = gx.ravel(), gy.ravel()
    keep = shapely.contains_xy(polygon, gx, gy)
    if not keep.any():
        point = polygon.representative_point()
        return np.array([point.x]), np.array([point.y])
    return gx[keep], gy[keep]


def _projector(to_bng):
    def project(xy):
        return np.column_stack(to_bng.transform(xy[:, 0], xy[:, 1]))

    return project


def activity_points(session, lonlat_box, counted, category_ids):
    """Return {category id: (lons, lats)} of the counted groups and active services of each
    category inside the box (found through the spatial index)."""
    groups = (
        select(
            group_categories.c.category_id,
            func.ST_X(CommunityGroup.geom),
            func.ST_Y(CommunityGroup.geom),
        )
        .join(CommunityGroup, CommunityGroup.id == group_categories.c.group_id)
        .where(
            *counted,
            group_categories.c.category_id.in_(category_ids),
            db.bbox_filter(CommunityGroup.geom, lonlat_box, session.bind),
        )
    )
    services = (
        select(service_categories.c.category_id, func.ST_X(Service.geom), func.ST_Y(Service.geom))
        .join(Service, Service.id == service_categories.c.service_id)
        .where(
            Service.status == "active",
            service_categories.c.category_id.in_(category_ids),
            db.bbox_filter(Service.geom, lonlat_box, session.bind),
        )
    )
    rows = [tuple(r) for query in (groups, services) for r in session.execute(query)]
    table = np.array(rows, dtype=float).reshape(-1, 3)
    return {
        int(category): (table[table[:, 0] == category, 1], table[table[:, 0] == category, 2])
        for category in np.unique(table[:, 0])
    }
