"""Map data: wards simplified for display with their topology kept, compact markers, coverage."""

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, shape

from mapper import geo
from mapper.io import exports
from mapper.store import db, queries
from mapper.store.models import CommunityGroup, Coordinator
from mapper.web import mapdata
from tests.factories import make_group, make_service, make_wards, two_wards


def wiggly_wards(wiggles=400, amplitude=0.000005):
    """Two wards whose shared edge bends, and zigzags with more detail than a map can show."""
    lats = np.linspace(53.4, 53.5, wiggles)
    bend = 0.003 * np.sin(np.linspace(0, 3 * np.pi, wiggles))
    edge = [
        (-2.0 + b + (amplitude if i % 2 else -amplitude), lat)
        for i, (b, lat) in enumerate(zip(bend, lats, strict=True))
    ]
    west = Polygon([(-2.1, 53.4), *edge, (-2.1, 53.5)])
    east = Polygon([(-1.9, 53.4), (-1.9, 53.5), *reversed(edge)])
    return {"E05000002": ("West Ward", west), "E05000001": ("East Ward", east)}


def test_simplified_neighbours_still_meet_with_no_gap_or_overlap():
    wards = wiggly_wards()
    originals = [poly for _, poly in wards.values()]
    simplified = mapdata.simplify_coverage(originals)
    assert shapely.get_num_coordinates(simplified).sum() < 0.25 * sum(
        shapely.get_num_coordinates(originals)
    )
    west, east = simplified
    assert west.intersection(east).area < 1e-12  # no overlap
    assert abs(shapely.union_all(simplified).area - box(-2.1, 53.4, -1.9, 53.5).area) < 1e-12


def test_display_wards_are_features_simplified_and_cached_until_a_ward_changes(session):
    make_wards(session, wiggly_wards())
    features = mapdata.display_wards(session)
    assert [f["properties"] for f in features] == [
        {
            "ward_code": "E05000001",
            "ward_name": "East Ward",
            "la_code": "E08000099",
            "la_name": "Testshire",
        },
        {
            "ward_code": "E05000002",
            "ward_name": "West Ward",
            "la_code": "E08000099",
            "la_name": "Testshire",
        },
    ]
    geoms = [shape(f["geometry"]) for f in features]
    assert all(g.geom_type == "MultiPolygon" and g.is_valid for g in geoms)
    assert shapely.get_num_coordinates(geoms).sum() < 0.25 * 2 * 400
    assert geoms[0].intersection(geoms[1]).area < 1e-12
    assert mapdata.display_wards(session) is features  # cached

    make_wards(session, {"E05000001": ("East Ward renamed", box(-2.0, 53.4, -1.9, 53.5))})
    changed = mapdata.display_wards(session)
    assert changed[0]["properties"]["ward_name"] == "East Ward renamed"


def test_display_wards_filter_by_local_authority_code_and_box(session):
    two_wards(session)
    make_wards(session, {"E05000003": ("Far", box(0, 51, 0.1, 51.1))}, la_code="E08000098")

    def codes(**kwargs):
        return [f["properties"]["ward_code"] for f in mapdata.display_wards(session, **kwargs)]

    assert codes() == ["E05000001", "E05000002", "E05000003"]
    assert codes(la_codes=["E08000098"]) == ["E05000003"]
    assert codes(codes=["E05000002"]) == ["E05000002"]
    assert codes(lonlat_box=(-2.09, 53.41, -2.01, 53.49)) == ["E05000002"]


def test_group_markers_are_compact_rows_of_active_groups_in_scope(session):
    two_wards(session)
    make_wards(session, {"E05000003": ("Far", box(0, 51, 0.1, 51.1))}, la_code="E08000098")
    food = make_group(session, "Food", (-2.05, 53.45), categories=["food-support"], kind="charity")
    arts = make_group(session, "Arts", (-1.95, 53.45), categories=["arts-culture"], kind="cic")
    far = make_group(session, "Far", (0.05, 51.05), kind="charity")
    make_group(session, "Pending", (-2.05, 53.46), status="pending")
    make_group(session, "Closed", (-2.05, 53.47), status="closed")

    def ids(**kwargs):
        return [row[0] for row in mapdata.group_markers(session, **kwargs)]

    assert mapdata.group_markers(session, la_codes=["E08000098"]) == [[far.id, 0.05, 51.05, "Far"]]
    assert ids() == [food.id, arts.id, far.id]
    assert ids(la_codes=["E08000099"]) == [food.id, arts.id]
    assert ids(ward_codes=["E05000001"]) == [arts.id]
    assert ids(categories=["food-support"]) == [food.id]
    assert ids(kinds=["charity"]) == [food.id, far.id]
    assert ids(lonlat_box=(-2.1, 53.4, -2.0, 53.5)) == [food.id]


def test_service_markers_and_details_show_active_services_only(session):
    two_wards(session)
    library = make_service(session, "Library", (-2.05, 53.45), provider="The council")
    make_service(session, "Closed library", (-2.05, 53.46), status="closed")
    assert mapdata.service_markers(session) == [[library.id, -2.05, 53.45, "Library"]]
    assert exports.service_properties(mapdata.public_service(session, library.id))["provider"] == (
        "The council"
    )
    assert mapdata.public_service(session, library.id + 1) is None


def test_coverage_is_the_union_of_patches_with_nothing_about_the_coordinators(session):
    two_wards(session)
    for name, patch in [
        ("Alice", box(-2.1, 53.4, -2.0, 53.45)),
        ("Bob", box(-2.05, 53.4, -1.9, 53.45)),
    ]:
        session.add(
            Coordinator(
                name=name,
                email=f"{name}@x.example",
                patch=db.to_wkb_element(MultiPolygon([patch])),
            )
        )
    session.add(Coordinator(name="Carol", patch=db.to_wkb_element(MultiPolygon([box(5, 5, 6, 6)]))))
    session.commit()
    covered = mapdata.coverage(session, (-2.1, 53.4, -1.9, 53.5))
    assert abs(covered.area - box(-2.1, 53.4, -1.9, 53.45).area) < 1e-9
    assert covered.equals(covered.union(box(-2.09, 53.41, -1.91, 53.44)))
    assert mapdata.coverage(session, (10, 10, 11, 11)) is None


def test_nearby_groups_are_those_in_other_wards_close_to_the_boundary(session):
    wards = two_wards(session)
    make_group(session, "Inside", (-2.05, 53.45))
    close = make_group(session, "Close", (-1.998, 53.45))  # about 130 m east of West Ward
    closer = make_group(session, "Closer", (-1.999, 53.45))
    make_group(session, "Too far", (-1.98, 53.45))  # about 1.3 km
    make_group(session, "Pending", (-1.999, 53.451), status="pending")
    ((_, geom),) = queries.wards(session, codes=["E05000002"])
    found = mapdata.nearby_groups(session, wards["E05000002"], geom, metres=500)
    assert [(g.name, round(d, -1)) for g, d in found] == [("Closer", 70.0), ("Close", 130.0)]
    assert [g.id for g, _ in found] == [closer.id, close.id]


def test_listed_counts_everything_and_lists_the_first_by_name(session):
    wards = two_wards(session)
    for name in ["Charlie", "Alpha", "Bravo"]:
        make_group(session, name, (-2.05, 53.45))
    make_group(session, "Aardvark pending", (-2.05, 53.45), status="pending")
    count, first = mapdata.listed(session, CommunityGroup, wards["E05000002"], limit=2)
    assert count == 3
    assert [g.name for g in first] == ["Alpha", "Bravo"]


def test_filter_choices_list_local_authorities_categories_and_kinds_in_use(
    session, seeded_categories
):
    two_wards(session)
    make_wards(
        session,
        {"E05000003": ("Far", box(0, 51, 0.1, 51.1))},
        la_code="E08000098",
        la_name="Alphashire",
    )
    make_group(session, "A", (-2.05, 53.45), kind="mutual aid")
    make_group(session, "B", (-2.05, 53.45), kind="charity")
    make_group(session, "C", (-2.05, 53.45), kind="secret kind", status="pending")
    choices = mapdata.filter_choices(session)
    assert choices["la"] == [("E08000098", "Alphashire"), ("E08000099", "Testshire")]
    assert {slug for slug, _ in choices["category"]} == seeded_categories
    assert choices["kind"] == [("charity", "charity"), ("mutual aid", "mutual aid")]


def test_display_geometry_is_rounded_for_the_browser(session):
    make_wards(session, {"E05000001": ("A", box(-2.123456789, 53.4, -2.0, 53.5))})
    (feature,) = mapdata.display_wards(session)
    xs = shapely.get_coordinates(shape(feature["geometry"]))[:, 0]
    assert -2.12346 in xs.round(6).tolist()
    assert geo.COORDINATE_DECIMALS > mapdata.DISPLAY_DECIMALS


def test_past_the_most_kinds_the_most_used_are_offered(session, monkeypatch):
    two_wards(session)
    for kind, groups in {"choir": 3, "allotment": 2, "book club": 1, "zumba": 2}.items():
        for n in range(groups):
            make_group(session, f"{kind} {n}", (-2.05, 53.45), kind=kind)
    make_group(session, "Closed", (-2.05, 53.45), kind="youth club", status="closed")
    assert queries.active_kinds(session, 4) == ["allotment", "book club", "choir", "zumba"]
    assert queries.active_kinds(session, 3) == ["choir", "allotment", "zumba"]
    monkeypatch.setattr(mapdata, "MAX_KINDS", 2)
    assert mapdata._filter_choices(session)["kind"] == [
        ("allotment", "allotment"),
        ("choir", "choir"),
    ]
