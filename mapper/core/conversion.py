"""Carrying ward figures across a boundary change: weights by postcodes, else by area.

When two snapshots use different ward boundaries, each earlier ward's figures are shared
among the later wards it overlaps: in proportion to its postcodes (a proxy for residents)
that lie in each, where postcodes are imported and some lie in it; otherwise in proportion
to the area of the overlap. A ward whose shape did not change keeps its figures whole. Each
earlier ward's shares add up to 1, so totals are conserved. Method: docs/changes.md.
"""

from dataclasses import dataclass, field

import numpy as np
import shapely

from mapper import geo
from mapper.store import queries

SAME = "same boundary"
POSTCODES = "postcodes"
AREA = "area"


@dataclass
class Carry:
    """How earlier wards' figures are carried onto later wards.

    `pairs` holds (earlier index, later index, share) rows: the share of the earlier ward's
    figures that the later ward receives. `methods[i]` says how earlier ward i was carried
    (SAME, POSTCODES, AREA, or None when it overlaps no later ward). `best_fit[j]` is the
    earlier ward that most of later ward j comes from (-1 for none); `overlap_m2` the area
    shared by each pair, for figures that are shares of area.
    """

    pairs: np.ndarray
    methods: list
    best_fit: np.ndarray
    overlap_m2: np.ndarray
    postcodes_used: int = 0
    later_methods: list = field(default_factory=list)


def carry_over(session, earlier_shapes, earlier_digests, later_shapes, later_digests):
    """Return the Carry of earlier wards onto later ones, using the imported postcodes."""
    earlier_shapes = np.asarray(earlier_shapes, dtype=object)
    later_shapes = np.asarray(later_shapes, dtype=object)
    n_later = len(later_shapes)
    later_by_digest = {}
    for j, digest in enumerate(later_digests):
        later_by_digest.setdefault(digest, j)
    same = [(i, later_by_digest.get(d, -1)) for i, d in enumerate(earlier_digests)]
    kept = {j for _, j in same if j >= 0}
    changed = np.array([i for i, j in same if j < 0], dtype=np.int64)
    targets = np.array([j for j in range(n_later) if j not in kept], dtype=np.int64)

    methods = [SAME if j >= 0 else None for _, j in same]
    best_fit = np.full(n_later, -1, dtype=np.int64)
    # A later ward with the same boundary draws on nothing else, so the weight of its one
    # pair in area-weighted means does not matter.
    rows = [(i, j, 1.0, 1.0) for i, j in same if j >= 0]
    for i, j in same:
        if j >= 0:
            best_fit[j] = i
    postcodes_used = 0
    if len(changed) and len(targets):
        overlaps = _area_overlaps(earlier_shapes[changed], later_shapes[targets])
        counts, postcodes_used = _postcode_counts(
            session, earlier_shapes[changed], later_shapes[targets]
        )
        rows += _shares(changed, targets, counts, overlaps, methods)
        _best_fits(best_fit, changed, targets, counts, overlaps)
    pairs = np.array([r[:3] for r in rows], dtype=float).reshape(-1, 3)
    overlap = np.array([r[3] for r in rows], dtype=float)
    carry = Carry(pairs, methods, best_fit, overlap, postcodes_used)
    carry.later_methods = _later_methods(carry, n_later)
    return carry


def _area_overlaps(earlier, later):
    """Return {(earlier position, later position): overlap in m²} of the pairs that meet."""
    tree = shapely.STRtree(later)
    e_idx, l_idx = tree.query(earlier, predicate="intersects")
    if not len(e_idx):
        return {}
    areas = geo.equal_areas(shapely.intersection(earlier[e_idx], later[l_idx]))
    return {
        (int(e), int(l_)): float(a) for e, l_, a in zip(e_idx, l_idx, areas, strict=True) if a > 0
    }


def _postcode_counts(session, earlier, later):
    """Return ({(earlier position, later position): postcodes in both}, postcodes read)."""
    lon, lat = queries.postcodes_in_box(session, shapely.total_bounds(earlier))
    if not len(lon):
        return {}, 0
    points = shapely.points(lon, lat)
    codes = [str(i).zfill(9) for i in range(max(len(earlier), len(later)))]
    in_earlier = geo.locate(points, earlier, codes[: len(earlier)])
    in_later = geo.locate(points, later, codes[: len(later)])
    both = (in_earlier >= 0) & (in_later >= 0)
    pair_keys, counts = np.unique(
        in_earlier[both] * len(later) + in_later[both], return_counts=True
    )
    found = {
        (int(k // len(later)), int(k % len(later))): int(c)
        for k, c in zip(pair_keys, counts, strict=True)
    }
    return found, int((in_earlier >= 0).sum())


def _shares(changed, targets, counts, overlaps, methods):
    """Return (earlier index, later index, share, overlap m²) rows of the changed wards."""
    by_earlier_counts, by_earlier_areas = {}, {}
    for (e, l_), count in counts.items():
        by_earlier_counts.setdefault(e, {})[l_] = count
    for (e, l_), area in overlaps.items():
        by_earlier_areas.setdefault(e, {})[l_] = area
    rows = []
    for e, i in enumerate(changed):
        weights, method = by_earlier_counts.get(e), POSTCODES
        if not weights:
            weights, method = by_earlier_areas.get(e), AREA
        if not weights:
            continue  # overlaps no later ward: not carried
        total = sum(weights.values())
        methods[i] = method
        areas = by_earlier_areas.get(e, {})
        rows += [
            (int(i), int(targets[l_]), w / total, areas.get(l_, 0.0))
            for l_, w in sorted(weights.items())
        ]
    return rows


def _best_fits(best_fit, changed, targets, counts, overlaps):
    """Set, for each later ward, the earlier ward most of its postcodes (else area) are in."""
    for measure in (counts, overlaps):
        best = {}
        for (e, l_), value in measure.items():
            if best_fit[targets[l_]] < 0 and value > best.get(l_, (0, -1))[0]:
                best[l_] = (value, e)
        for l_, (_value, e) in best.items():
            best_fit[targets[l_]] = changed[e]


def _later_methods(carry, n_later):
    """Return how each later ward's earlier figures were found: None when they were not
    converted (the same boundary, or none), else the methods of the wards it draws on."""
    used = [set() for _ in range(n_later)]
    for i, j, _share in carry.pairs.tolist():
        used[int(j)].add(carry.methods[int(i)])
    result = []
    for methods in used:
        if not methods or methods == {SAME}:
            result.append(None)
        else:
            result.append(" and ".join(m for m in (POSTCODES, AREA) if m in methods))
    return result


def carried_sums(carry, values, n_later):
    """Return each later ward's share-weighted sum of earlier values (NaN when any drawn-on
    value is missing, or nothing is drawn on)."""
    values = np.asarray(values, dtype=float)
    if not len(carry.pairs):
        return np.full(n_later, np.nan)
    earlier, later = carry.pairs[:, 0].astype(np.int64), carry.pairs[:, 1].astype(np.int64)
    sums = np.bincount(later, weights=carry.pairs[:, 2] * values[earlier], minlength=n_later)
    drawn = np.bincount(later, minlength=n_later) > 0
    missing = np.bincount(later, weights=np.isnan(values[earlier]), minlength=n_later) > 0
    sums[~drawn | missing] = np.nan
    return sums


def carried_area_shares(carry, shares, n_later):
    """Return each later ward's area-weighted mean of earlier area shares (0-1)."""
    shares = np.asarray(shares, dtype=float)
    if not len(carry.pairs):
        return np.full(n_later, np.nan)
    earlier, later = carry.pairs[:, 0].astype(np.int64), carry.pairs[:, 1].astype(np.int64)
    weight = carry.overlap_m2
    known = ~np.isnan(shares[earlier])
    top = np.bincount(later[known], weights=(weight * shares[earlier])[known], minlength=n_later)
    bottom = np.bincount(later[known], weights=weight[known], minlength=n_later)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / bottom, np.nan)
