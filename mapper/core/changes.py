"""Change between two dates: per ward, from an earlier snapshot to a later one, or to now.

The two sides are snapshots chosen by the day they describe (or by id); "now" is the live
analysis with the earlier snapshot's filters. When the wards' boundaries differ, the earlier
figures are carried onto the later wards (core.conversion) and every row says whether it was
converted and how. Method: docs/changes.md.
"""

from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd

from mapper import geo
from mapper.core import analysis, conversion, snapshots
from mapper.errors import Invalid, NotFound

METHOD = "Community Mapper change between snapshots"
METHOD_VERSION = "1.0"

# The change map's classes, by the change in groups rounded to a whole group; "new" where
# the earlier snapshot has no figures for the ward.
CHANGE_CLASSES = ("fewer", "one fewer", "same", "one more", "more", "new")

COLUMNS = (
    "ward_code",
    "ward_name",
    "la_code",
    "la_name",
    "vintage",
    "from_vintage",
    "groups_from",
    "groups_to",
    "groups_change",
    "groups_per_1k_from",
    "groups_per_1k_to",
    "groups_per_1k_change",
    "services_from",
    "services_to",
    "services_change",
    "coordinator_coverage_from",
    "coordinator_coverage_to",
    "coordinator_coverage_change",
    "categories_gained",
    "categories_lost",
    "activity_class_from",
    "activity_class_to",
    "priority_from",
    "priority_to",
    "change",
    "converted",
    "conversion",
    "converted_from",
)
# Figures summed when carried across a boundary change: they count things in the ward.
COUNTS = ("groups", "services", "population")


def choose_snapshots(session, la_codes=(), from_day=None, to_day=None, from_id=None, to_id=None):
    """Return (earlier snapshot, later snapshot or None for now) for these local authorities.

    Each side is a snapshot id, or the day it should describe (the latest unfiltered
    snapshot on or before that day holding every one of `la_codes`). No later side means now.
    """
    earlier = _side(session, la_codes, from_day, from_id, "from")
    later = _side(session, la_codes, to_day, to_id, "to")
    if later is not None:
        if later.reference_date < earlier.reference_date:
            reason = f"describes {later.reference_date}, before the earlier side"
            raise Invalid(f"The later snapshot {reason}.", {_name("to", to_id): reason})
        earlier_filters, later_filters = (_filters(s.details) for s in (earlier, later))
        if earlier_filters != later_filters:
            reason = "was computed with other category or kind filters than the earlier one"
            raise Invalid(f"Snapshot {later.id} {reason}.", {_name("to", to_id): reason})
    return earlier, later


def _name(side, snapshot_id):
    return f"{side}_snapshot" if snapshot_id is not None else side


def _side(session, la_codes, day, snapshot_id, side):
    if snapshot_id is not None:
        try:
            return snapshots.get_snapshot(session, snapshot_id)
        except NotFound as error:
            raise NotFound(error.message, {f"{side}_snapshot": "no such snapshot"}) from None
    if day is None:
        if side == "to":
            return None
        raise Invalid("Say which day (or snapshot) to start from.", {"from": "is required"})
    found = snapshots.snapshot_on(session, day, la_codes)
    if found is None:
        scope = ", ".join(la_codes) or "every ward"
        reason = f"no snapshot of {scope} describes {day.isoformat()} or an earlier day"
        raise NotFound(f"There is {reason}.", {side: reason})
    return found


def _filters(metadata):
    parameters = metadata["parameters"]
    return sorted(parameters["category"]), sorted(k.lower() for k in parameters["kind"])


def compute_changes(session, earlier, later=None, la_codes=(), ward_codes=(), later_frame=None):
    """Return the change per ward from `earlier` to `later` (None: the live analysis now).

    One row per ward of the later side in scope, as a GeoDataFrame with its metadata in
    `frame.attrs["metadata"]`. `ward_codes` keeps the later wards with these codes and those
    drawing on earlier wards with these codes. `later_frame`, the later side already read
    (see `later_side`), saves reading it again. Unknown local authorities raise
    analysis.UnknownValues.
    """
    old = snapshots.snapshot_frame(session, earlier, la_codes)
    new = later_frame if later_frame is not None else later_side(session, old, later, la_codes)
    carry = conversion.carry_over(
        session,
        list(old.geometry),
        snapshots.shape_digests(old.geometry),
        list(new.geometry),
        snapshots.shape_digests(new.geometry),
    )
    frame = _assemble(old, new, carry)
    keep = _kept(old, new, carry, ward_codes)
    frame = frame[keep].reset_index(drop=True)
    sides = (earlier, later)
    frame.attrs["metadata"] = _metadata(frame, old, new, carry, sides, la_codes, ward_codes)
    return frame


def later_side(session, earlier_frame, later=None, la_codes=()):
    """Return the later side's frame: the snapshot `later`, or the live analysis now with the
    earlier side's scope and filters."""
    if later is not None:
        return snapshots.snapshot_frame(session, later, la_codes)
    parameters = earlier_frame.attrs["metadata"]["parameters"]
    return analysis.compute_gaps(
        session,
        la_codes=la_codes or parameters["la"],
        categories=parameters["category"],
        kinds=parameters["kind"],
    )


def _values(frame, column):
    return np.array([np.nan if v is None or pd.isna(v) else v for v in frame[column]], float)


def _number(value):
    """A figure as output: None for missing, whole numbers as int, others to 3 decimals."""
    if value is None or not np.isfinite(value):
        return None
    value = round(float(value), 3)
    return int(value) if value.is_integer() else value


def _per_1k(counts, population):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(population > 0, counts * 1000 / population, np.nan)


def _assemble(old, new, carry):
    n = len(new)
    carried = {c: conversion.carried_sums(carry, _values(old, c), n) for c in COUNTS}
    now = {c: _values(new, c) for c in COUNTS}
    coverage_from = conversion.carried_area_shares(carry, _values(old, "coordinator_coverage"), n)
    coverage_to = _values(new, "coordinator_coverage")
    per_1k_from = _per_1k(carried["groups"], carried["population"])
    per_1k_to = _per_1k(now["groups"], now["population"])
    old_rows = pd.DataFrame(old.drop(columns=old.geometry.name)).to_dict("records")
    old_codes = [r["ward_code"] for r in old_rows]
    drawn_on = [[] for _ in range(n)]  # per later ward: (earlier index, share)
    for i, j, share in carry.pairs.tolist():
        drawn_on[int(j)].append((int(i), share))
    rows = []
    for j, new_row in enumerate(
        pd.DataFrame(new.drop(columns=new.geometry.name)).to_dict("records")
    ):
        best = int(carry.best_fit[j])
        old_row = old_rows[best] if best >= 0 else None
        groups_change = now["groups"][j] - carried["groups"][j]
        present_from = list(old_row["categories_present"]) if old_row is not None else None
        present_to = list(new_row["categories_present"] or [])
        rows.append(
            {
                "ward_code": new_row["ward_code"],
                "ward_name": new_row["ward_name"],
                "la_code": new_row["la_code"],
                "la_name": new_row["la_name"],
                "vintage": new_row["vintage"],
                "from_vintage": old_row["vintage"] if old_row is not None else None,
                "groups_from": _number(carried["groups"][j]),
                "groups_to": _number(now["groups"][j]),
                "groups_change": _number(groups_change),
                "groups_per_1k_from": _number(per_1k_from[j]),
                "groups_per_1k_to": _number(per_1k_to[j]),
                "groups_per_1k_change": _number(per_1k_to[j] - per_1k_from[j]),
                "services_from": _number(carried["services"][j]),
                "services_to": _number(now["services"][j]),
                "services_change": _number(now["services"][j] - carried["services"][j]),
                "coordinator_coverage_from": _number(coverage_from[j]),
                "coordinator_coverage_to": _number(coverage_to[j]),
                "coordinator_coverage_change": _number(coverage_to[j] - coverage_from[j]),
                "categories_gained": None
                if present_from is None
                else [c for c in present_to if c not in present_from],
                "categories_lost": None
                if present_from is None
                else [c for c in present_from if c not in present_to],
                "activity_class_from": old_row["activity_class"] if old_row is not None else None,
                "activity_class_to": new_row["activity_class"],
                "priority_from": old_row["priority"] if old_row is not None else None,
                "priority_to": new_row["priority"],
                "change": change_class(groups_change),
                "converted": carry.later_methods[j] is not None,
                "conversion": carry.later_methods[j],
                "converted_from": [
                    f"{old_codes[i]}:{round(share, 4)}"
                    for i, share in sorted(drawn_on[j], key=lambda r: -r[1])
                ]
                if carry.later_methods[j] is not None
                else [],
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS), dtype=object)
    return gpd.GeoDataFrame(frame, geometry=list(new.geometry), crs=geo.WGS84)


def change_class(change):
    """Return the change map's class of a change in groups (NaN: no earlier figures)."""
    if not np.isfinite(change):
        return "new"
    whole = int(np.floor(change + 0.5))
    if whole <= -2:
        return "fewer"
    if whole >= 2:
        return "more"
    return {-1: "one fewer", 0: "same", 1: "one more"}[whole]


def _kept(old, new, carry, ward_codes):
    """Which later wards to keep: all, or those named and those drawing on named wards."""
    if not ward_codes:
        return np.ones(len(new), dtype=bool)
    wanted = set(ward_codes)
    keep = new["ward_code"].isin(wanted).to_numpy().copy()
    old_codes = old["ward_code"].to_numpy()
    for i, j, _share in carry.pairs:
        if old_codes[int(i)] in wanted:
            keep[int(j)] = True
    return keep


def describe_side(snapshot, frame):
    """Return what a side of a change is: a snapshot, or the live analysis."""
    if snapshot is not None:
        return snapshots.describe(snapshot)
    metadata = frame.attrs["metadata"]
    return {
        "live": True,
        "generated_at": metadata["generated_at"],
        "reference_date": metadata["parameters"]["reference_date"],
        "boundary_vintage": _vintage_text(metadata["boundary_vintage"]),
        "method_version": metadata["method_version"],
    }


def _vintage_text(vintage):
    return ", ".join(vintage) if isinstance(vintage, list) else vintage


def _metadata(frame, old, new, carry, sides, la_codes, ward_codes):
    earlier, later = sides
    old_codes = old["ward_code"].to_numpy()
    by = {method: [] for method in (conversion.POSTCODES, conversion.AREA, None)}
    for code, method in zip(old_codes, carry.methods, strict=True):
        if method != conversion.SAME:
            by[method].append(code)
    drawn = _drawn_codes(frame, new, old, carry)
    if ward_codes:
        by = {m: [c for c in codes if c in drawn or c in ward_codes] for m, codes in by.items()}
    converted = bool(by[conversion.POSTCODES] or by[conversion.AREA])
    kept_old = old[old["ward_code"].isin(drawn)]
    totals = {}
    for column in ("groups", "services"):
        totals[column] = {
            "from": _number(_values(kept_old, column).sum()),
            "carried": _number(pd.Series(frame[f"{column}_from"], dtype=float).sum()),
            "to": _number(pd.Series(frame[f"{column}_to"], dtype=float).sum()),
        }
    return {
        "method": METHOD,
        "method_version": METHOD_VERSION,
        "documentation": "docs/changes.md",
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "parameters": {"la": list(la_codes), "ward": list(ward_codes)},
        "from": describe_side(earlier, old),
        "to": describe_side(later, new),
        # The later wards' boundary source notes: whose boundaries the rows are drawn on.
        "boundary_attribution": new.attrs.get("metadata", {}).get("boundary_attribution"),
        "conversion": {
            "converted": converted,
            "from_vintage": _vintage_text(analysis.boundary_vintage(old)) if len(old) else None,
            "to_vintage": _vintage_text(analysis.boundary_vintage(new)) if len(new) else None,
            "weights": "the earlier ward's postcodes in each later ward where postcodes are "
            "imported and lie in it, else the area of the overlap",
            "postcodes_used": carry.postcodes_used,
            "carried_by_postcodes": by[conversion.POSTCODES],
            "carried_by_area": by[conversion.AREA],
            "not_carried": by[None],
        },
        "totals": totals,
        "counts": {
            "wards": len(frame),
            "wards_converted": int(sum(bool(v) for v in frame["converted"])),
            "change": {name: int((frame["change"] == name).sum()) for name in CHANGE_CLASSES},
        },
        "boundary_vintage": analysis.boundary_vintage(frame) if len(frame) else None,
    }


def _drawn_codes(frame, new, old, carry):
    """The earlier ward codes whose figures the rows of the change frame draw on."""
    kept = set(frame["ward_code"])
    later_codes = new["ward_code"].to_numpy()
    old_codes = old["ward_code"].to_numpy()
    codes = {old_codes[int(i)] for i, j, _s in carry.pairs if later_codes[int(j)] in kept}
    if len(frame) == len(new):  # every later ward: the earlier wards not carried count too
        codes |= {c for c, m in zip(old_codes, carry.methods, strict=True) if m is None}
    return codes


def filename(metadata, extension):
    """Return a download name saying the scope and the two days compared."""
    parameters = metadata["parameters"]
    scope = parameters["la"] or parameters["ward"] or ["all-wards"]
    to = "now" if metadata["to"].get("live") else metadata["to"]["reference_date"]
    return (
        f"community-changes_{'+'.join(scope)}_{metadata['from']['reference_date']}_to_{to}"
        f".{extension}"
    )
