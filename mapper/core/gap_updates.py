"""Bringing a kept gap analysis up to date after a few edits, instead of computing it afresh.

Every write journals the wards and the points of the groups and services it changed, where
they were and where they are (`store/version.py`). A ward's row of the analysis depends only
on the groups and services based in it or serving it (their wards are journalled), on the
groups and services within walking distance of its residents (reach: the ward's polygon comes
within that distance of a journalled point) and on the nearest group to its label point (a
journalled point no further than it). Those wards are computed again, scoped together with the
wards that touch them, so that a postcode on a shared boundary goes to the ward it goes to in
the whole analysis, and their rows replace the old ones. The classes and priorities, which rank
the wards against each other, are then cut again over the whole frame.

tests/core/test_gap_updates.py checks that the frame so brought up to date equals one computed
afresh, after each kind of edit.
"""

import numpy as np
import pandas as pd
import shapely

from mapper import geo

SHARE_LIMIT = 0.25  # past this share of the wards affected, computing afresh is as quick
POINT_LIMIT = 2000  # journalled points compared with every ward's label at most
MARGIN_M = 100.0  # added to the walking distance: BNG is not the sphere
NEAREST_MARGIN_KM = 1e-6  # the database and numpy round a distance differently


def updated(entry, changes, compute, finish, params):
    """Return `entry` ((frame, inputs, attrs, tree) of an analysis: the frame without its
    attrs, the STRtree of its polygons or None) brought up to date with `changes` ((ward ids,
    lon/lat points) journalled since), or None when computing afresh is as quick. The wards
    stay in their order, so the tree is built once and kept with the entries that follow.

    `compute(ward_codes)` computes (frame, inputs) of those wards with the entry's filters;
    `finish(frame, inputs, metadata)` cuts the classes again and brings the metadata up to date.
    """
    frame, inputs, attrs, tree = entry
    ward_ids, points = changes
    if len(points) > POINT_LIMIT:
        return None
    polygons = frame.geometry.to_numpy()
    tree = tree or shapely.STRtree(polygons)
    hit = affected(tree, inputs, ward_ids, points, params)
    if hit.sum() > SHARE_LIMIT * len(frame):
        return None
    if not hit.any():  # the changes reach no ward of this analysis
        return frame, inputs, attrs, tree
    codes = frame["ward_code"].to_numpy()
    touching = np.unique(tree.query(polygons[hit], predicate="intersects")[1])
    fresh, fresh_inputs = compute(list(codes[np.union1d(np.flatnonzero(hit), touching)]))
    fresh.attrs = {}  # pandas copies attrs deeply on every column read
    rows = fresh.iloc[pd.Index(fresh["ward_code"]).get_indexer(codes[hit])]
    taken = np.arange(len(frame))  # each ward's own row, or its fresh one after the frame's
    taken[hit] = len(frame) + np.arange(len(rows))
    merged = pd.concat([frame, rows], ignore_index=True).take(taken).reset_index(drop=True)
    new_inputs = inputs.copy()
    new_inputs.loc[codes[hit]] = fresh_inputs.loc[codes[hit], inputs.columns].to_numpy()
    metadata = copied(attrs["metadata"])
    finish(merged, new_inputs, metadata)
    return merged, new_inputs, {**attrs, "metadata": metadata}, tree


def affected(tree, inputs, ward_ids, points, params):
    """Return a mask of the wards (`tree` of their polygons, `inputs` their figures) whose row
    of the analysis the changes may alter."""
    hit = inputs["ward_id"].isin(list(ward_ids)).to_numpy().copy()
    if not len(points):
        return hit
    lon, lat = np.asarray(points, dtype=float).T
    walk_km = (params["reach_metres"] / params["detour_factor"] + MARGIN_M) / 1000
    boxes = shapely.box(*geo.boxes_around(lon, lat, walk_km).T)
    near = tree.query(boxes, predicate="intersects")[1]
    hit[near] = True
    nearest = inputs["nearest_km"].to_numpy()
    closest = np.full(len(inputs), np.inf)
    for start in range(0, len(lon), 100):  # a (ward, point) table of bounded size
        part = slice(start, start + 100)
        distances = geo.haversine_km(
            inputs["label_lon"].to_numpy()[:, None],
            inputs["label_lat"].to_numpy()[:, None],
            lon[None, part],
            lat[None, part],
        )
        closest = np.minimum(closest, distances.min(axis=1))
    return hit | ~(closest > nearest + NEAREST_MARGIN_KM)


def copied(value):
    """Return a deep copy of metadata (dicts and lists of text and numbers): several times
    quicker than copy.deepcopy, which takes 9 ms over the 8,400 ward codes of a country."""
    if isinstance(value, dict):
        return {key: copied(item) for key, item in value.items()}
    if isinstance(value, list):
        if set(map(type, value)) <= _SCALARS:  # 8,400 ward codes: copied at C speed
            return list(value)
        return [copied(item) for item in value]
    return value


_SCALARS = {str, int, float, bool, type(None)}
