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

Computed in memory with numpy (`_Cells`: the resident points sorted by the square of side the
distance they are in, so that each group or service compares its distance only with the
residents of the nine squares around it; no geometry objects), which benchmarks/reach.py
measures; the database only hands over the points inside the scope's box grown by the
distance, through its spatial index.
"""

import hashlib

import numpy as np
import shapely
from sqlalchemy import func, select

from mapper import geo
from mapper.core import ward_counts
from mapper.store import db, queries, version
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
    per_ward = np.bincount(ward_of, weights=weights, minlength=len(ward_geoms))
    places = activity_points(session, box, counted, list(analysed_ids.values()))
    cells = _Cells(x, y, straight)
    for column, category_id in enumerate(analysed_ids.values()):
        lon, lat = places.get(category_id, (np.empty(0), np.empty(0)))
        if not len(lon):
            continue
        reached = cells.reached(*to_bng.transform(lon, lat), straight)
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
    x, y = (np.asarray(v, float) for v in to_bng.transform(lons[inside], lats[inside]))
    weights, owners = np.nan_to_num(figures[inside], nan=1.0), ward_of[inside]
    unpeopled = np.bincount(owners, weights=weights, minlength=len(ward_geoms)) == 0
    weights[unpeopled[owners]] = 1.0
    empty = np.setdiff1d(np.arange(len(ward_geoms)), ward_of[inside])
    gx, gy, grid_of = ward_grids(session, np.asarray(ward_geoms)[empty], to_bng)
    return (
        np.concatenate([x, gx]),
        np.concatenate([y, gy]),
        np.concatenate([weights, np.ones(len(gx))]),
        np.concatenate([owners, empty[grid_of]]),
        {
            "grid_wards": [str(ward_codes[index]) for index in empty],
            "weighted": bool(np.isfinite(figures[inside]).any()),
        },
    )


def ward_grids(session, ward_geoms, to_bng):
    """Return (x, y, ward index) of the grid points of lon/lat ward polygons (`grid_points`
    in BNG), kept in the session's cache under the polygons, which are all a grid depends
    on: the next analysis of the same wards, at any data version, takes them from there."""
    cache = version.cache_of(session)
    if cache is None or not len(ward_geoms):
        return grid_points(shapely.transform(ward_geoms, _projector(to_bng)))
    key = ("reach-grid", hashlib.blake2b(b"".join(shapely.to_wkb(ward_geoms))).digest())
    grid = cache.get(key)
    if grid is None:
        grid = grid_points(shapely.transform(ward_geoms, _projector(to_bng)))
        cache.put(key, grid, size=sum(part.nbytes for part in grid))
    return grid


def grid_points(polygons):
    """Return (x, y, polygon index) of a regular grid of points inside each projected
    polygon (its representative point when the polygon is too small for its grid)."""
    if not len(polygons):
        return np.empty(0), np.empty(0), np.empty(0, np.int64)
    areas = shapely.area(polygons)
    spacing = np.where(areas > 0, np.clip(np.sqrt(areas / GRID_POINTS), *GRID_SPACING_M), 1.0)
    bounds = shapely.bounds(polygons)
    start = bounds[:, :2] + spacing[:, None] / 2  # as np.arange(start, max, spacing) per axis
    shape = np.maximum(np.ceil((bounds[:, 2:] - start) / spacing[:, None]), 0).astype(np.int64)
    counts = shape[:, 0] * shape[:, 1]
    owner = np.repeat(np.arange(len(polygons)), counts)
    nth = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    columns = shape[owner, 0]
    gx = start[owner, 0] + (nth % np.maximum(columns, 1)) * spacing[owner]
    gy = start[owner, 1] + (nth // np.maximum(columns, 1)) * spacing[owner]
    shapely.prepare(polygons)
    keep = shapely.contains_xy(polygons[owner], gx, gy)
    gx, gy, owner = gx[keep], gy[keep], owner[keep]
    alone = np.setdiff1d(np.arange(len(polygons)), owner)
    points = shapely.point_on_surface(polygons[alone])
    gx, gy = (
        np.concatenate([gx, shapely.get_x(points)]),
        np.concatenate([gy, shapely.get_y(points)]),
    )
    return gx, gy, np.concatenate([owner, alone])


def _projector(to_bng):
    def project(xy):
        return np.column_stack(to_bng.transform(xy[:, 0], xy[:, 1]))

    return project


def activity_points(session, lonlat_box, counted, category_ids):
    """Return {category id: (lons, lats)} of the counted groups and active services of each
    category inside the box (found through the spatial index).

    Groups are read once each with their category bit mask (ward_counts.MASK_IDS), not once
    per category link; a category without a bit is read through the links."""
    box = db.bbox_filter(CommunityGroup.geom, lonlat_box, session.bind)
    masked = [c for c in category_ids if c in ward_counts.MASK_IDS]
    linked = [c for c in category_ids if c not in ward_counts.MASK_IDS]
    found = {}
    if masked:
        source, in_box = db.in_box(CommunityGroup.geom, lonlat_box, session.bind)
        query = (
            select(
                CommunityGroup.category_mask,
                func.ST_X(CommunityGroup.geom),
                func.ST_Y(CommunityGroup.geom),
            )
            .select_from(source)
            .where(*counted, *in_box, CommunityGroup.category_mask != 0)
        )
        rows = session.execute(query).all()
        masks = np.array([r[0] for r in rows], dtype=np.int64)
        xy = np.array([(r[1], r[2]) for r in rows], dtype=float).reshape(-1, 2)
        for category in masked:
            has = (masks & (1 << category)) != 0
            found[category] = [xy[has]]
    groups = (
        select(
            group_categories.c.category_id,
            func.ST_X(CommunityGroup.geom),
            func.ST_Y(CommunityGroup.geom),
        )
        .join(CommunityGroup, CommunityGroup.id == group_categories.c.group_id)
        .where(*counted, group_categories.c.category_id.in_(linked), box)
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
    reads = (groups, services) if linked else (services,)
    rows = [tuple(r) for query in reads for r in session.execute(query)]
    table = np.array(rows, dtype=float).reshape(-1, 3)
    for category in np.unique(table[:, 0]):
        found.setdefault(int(category), []).append(table[table[:, 0] == category, 1:])
    merged = {category: np.concatenate(parts) for category, parts in found.items()}
    return {category: (xy[:, 0], xy[:, 1]) for category, xy in merged.items() if len(xy)}


class _Cells:
    """Points (x, y in metres) sorted by the square of side `size` they fall in, for finding
    those within `size` of other points by looking in the nine squares around each."""

    PAIRS = 4_000_000  # point pairs compared at a time, so that memory stays bounded

    def __init__(self, x, y, size):
        self.size = size
        self.origin = (x.min() - size, y.min() - size) if len(x) else (0.0, 0.0)
        column, row = self._square(x, y)
        self.rows = int(row.max()) + 2 if len(x) else 1
        keys = column * self.rows + row
        self.order = np.argsort(keys)
        keys = keys[self.order]
        self.sorted_x, self.sorted_y = x[self.order], y[self.order]  # read in runs, not at random
        # Each occupied square once, with where its points start in `order`.
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        self.squares, self.starts = keys[starts], np.r_[starts, len(keys)]

    def _square(self, x, y):
        return (
            np.floor((x - self.origin[0]) / self.size).astype(np.int64),
            np.floor((y - self.origin[1]) / self.size).astype(np.int64),
        )

    def reached(self, px, py, distance):
        """Return a mask of the points within `distance` (at most `size`) of any (px, py)."""
        px, py = np.asarray(px, float), np.asarray(py, float)
        hit = np.zeros(len(self.order), bool)  # in the order of the squares
        if not len(px) or not len(hit):
            return hit
        column, row = self._square(px, py)
        steps = np.arange(-1, 2)
        columns, rows = (
            a.ravel()
            for a in np.broadcast_arrays(
                column[:, None, None] + steps[None, :, None],
                row[:, None, None] + steps[None, None, :],
            )
        )
        keys = np.where((rows >= 0) & (rows < self.rows), columns * self.rows + rows, -1)
        found = np.searchsorted(self.squares, keys)
        found[found == len(self.squares)] = 0
        occupied = self.squares[found] == keys
        first = self.starts[found]
        counts = np.where(occupied, self.starts[found + 1] - first, 0)
        place = np.repeat(np.arange(len(px)), 9)
        ends = np.cumsum(counts)
        start = 0
        while start < len(counts):
            stop = max(
                int(np.searchsorted(ends, ends[start] - counts[start] + self.PAIRS)), start + 1
            )
            part = counts[start:stop]
            nth = np.arange(part.sum()) - np.repeat(np.cumsum(part) - part, part)
            point = np.repeat(first[start:stop], part) + nth
            other = np.repeat(place[start:stop], part)
            near = (self.sorted_x[point] - px[other]) ** 2 + (self.sorted_y[point] - py[other]) ** 2
            hit[point[near <= distance * distance]] = True
            start = stop
        found = np.zeros(len(hit), bool)
        found[self.order] = hit
        return found
