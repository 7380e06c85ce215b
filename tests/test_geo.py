import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon, box

from mapper import geo


def test_point_inside_one_polygon_belongs_to_it():
    polygons = [box(0, 0, 1, 1), box(1, 0, 2, 1)]
    assert list(geo.locate(shapely.points([[0.5, 0.5], [1.5, 0.5]]), polygons, ["A", "B"])) == [
        0,
        1,
    ]


def test_point_on_shared_boundary_belongs_to_the_lowest_code_only():
    polygons = [box(1, 0, 2, 1), box(0, 0, 1, 1)]
    points = shapely.points([[1, 0.5], [1, 0], [1, 1]])  # an edge and both shared corners
    assert list(geo.locate(points, polygons, ["E05000002", "E05000001"])) == [1, 1, 1]


def test_point_outside_every_polygon_is_minus_one():
    assert list(geo.locate(shapely.points([[5, 5]]), [box(0, 0, 1, 1)], ["A"])) == [-1]


def test_rfc7946_output_is_counter_clockwise_and_rounded():
    clockwise = Polygon([(0, 0), (0, 1.123456789), (1, 1), (1, 0)])
    assert not clockwise.exterior.is_ccw
    out = geo.for_rfc7946(clockwise)
    assert out.exterior.is_ccw
    assert [0.0, 1.123457] in shapely.get_coordinates(out).tolist()


def test_invalid_polygon_is_repaired_into_a_multipolygon():
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    repaired, reason = geo.repair(bowtie)
    assert repaired.geom_type == "MultiPolygon" and repaired.is_valid
    assert "Self-intersection" in reason


def test_distances_are_in_metres_and_zero_inside():
    ward = box(-2.1, 53.4, -2.0, 53.5)
    # 0.01 degrees of longitude at 53.45°N is about 664 m; of latitude about 1,113 m.
    points = shapely.points([[-2.05, 53.45], [-1.99, 53.45], [-2.05, 53.51]])
    inside, east, north = geo.distances_m(ward, points)
    assert inside == 0
    assert 655 < east < 672
    assert 1105 < north < 1120


def test_expanded_box_reaches_at_least_that_far_on_every_side():
    lonlat_box = (-2.1, 53.4, -2.0, 53.5)
    grown = geo.expand_box(lonlat_box, 500)
    corners = shapely.points(
        [[grown[0], 53.45], [grown[2], 53.45], [-2.05, grown[1]], [-2.05, grown[3]]]
    )
    assert all(d >= 499 for d in geo.distances_m(box(*lonlat_box), corners))


# A .prj as ESRI tools write it: British National Grid in WKT1 with no top-level EPSG code.
BNG_PRJ_WITHOUT_EPSG = (
    'PROJCS["OSGB36 / British National Grid",GEOGCS["OSGB36",DATUM["Ordnance_Survey_of_Great_'
    'Britain_1936",SPHEROID["Airy 1830",6377563.396,299.3249646]],PRIMEM["Greenwich",0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["latitude_of_origin",49],PARAMETER["central_meridian",-2],'
    'PARAMETER["scale_factor",0.999601272],PARAMETER["false_easting",400000],'
    'PARAMETER["false_northing",-100000],UNIT["metre",1]]'
)


def test_british_national_grid_is_recognised_from_a_prj_without_an_epsg_code():
    assert pyproj.CRS(BNG_PRJ_WITHOUT_EPSG).to_epsg() is None  # what makes this hard
    assert geo.epsg_of(BNG_PRJ_WITHOUT_EPSG) == 27700
    assert geo.epsg_of("EPSG:4326") == 4326


def test_a_low_confidence_match_that_projects_elsewhere_is_not_taken():
    shifted = BNG_PRJ_WITHOUT_EPSG.replace('"false_easting",400000', '"false_easting",500000')
    assert geo.epsg_of(shifted) is None


@pytest.mark.parametrize(
    ("bounds", "code"),
    [
        ((-2.5, 53.3, -2.2, 53.5), 4326),
        ((377000, 388000, 377500, 388500), 27700),
        ((-2e7, -1e7, 2e7, 1e7), None),
    ],
)
def test_crs_of_coordinates_with_no_stated_crs_is_guessed_from_their_bounds(bounds, code):
    assert geo.guess_crs(bounds) == code


@pytest.mark.parametrize(
    ("lonlat", "problem"),
    [
        ((-2.34673, 53.3906), None),
        ((0.5, 51.5), None),
        ((53.3906, -2.34673), "look swapped"),
        ((377038.1, 388251.9), "look like British National Grid metres"),
        ((0.0, 99.999999), "outside the range of longitude/latitude"),
        ((float("nan"), 53.0), "not a finite number"),
    ],
)
def test_lonlat_that_looks_wrong_is_named(lonlat, problem):
    found = geo.lonlat_problem(*lonlat)
    assert found is None if problem is None else problem in found


@pytest.mark.parametrize(
    ("xy", "problem"),
    [
        ((377038.1, 388251.9), None),
        ((-2.34673, 53.3906), "look like longitude/latitude degrees"),
        ((806000, 394000), "look swapped"),
        ((377038.1, -5000), "outside British National Grid"),
    ],
)
def test_easting_northing_that_looks_wrong_is_named(xy, problem):
    found = geo.easting_northing_problem(*xy)
    assert found is None if problem is None else problem in found


def test_stored_grid_rounds_coordinates_and_keeps_polygons_valid():
    square = MultiPolygon([box(-2.123456789, 53.1, -2.1, 53.2)])
    assert shapely.get_coordinates(geo.on_grid(square)).min(axis=0)[0] == -2.1234568
    sliver = Polygon([(0, 0), (1, 0), (1, 1e-9), (0.5, 2e-8), (0, 1e-9)])
    assert shapely.is_valid(geo.on_grid(sliver))


def test_distance_in_metres_between_lonlat_points():
    # 1e-5 degree of latitude is about 1.11 m anywhere
    assert geo.distance_m((-2.3, 53.4), (-2.3, 53.40001)) == pytest.approx(1.11, 0.01)


@pytest.mark.parametrize(
    ("geom", "problem"),
    [
        (Point(1, 2), None),
        (MultiPoint([(1, 2)]), None),
        (MultiPoint([(1, 2), (3, 4)]), "multi-valued coordinate"),
        (box(0, 0, 1, 1), "not a point"),
    ],
)
def test_only_a_single_point_locates_a_record(geom, problem):
    point, found = geo.point_of(geom)
    assert (found is None and point.equals(Point(1, 2))) if problem is None else problem in found


# Manchester Town Hall: BNG 383,850 E 398,150 N, more or less.
TOWN_HALL = (-2.2446, 53.4794)


def test_an_exact_location_is_published_as_it_is():
    point = geo.published_point(Point(*TOWN_HALL), "exact")
    assert (point.x, point.y) == TOWN_HALL


def test_an_approximate_location_is_the_centre_of_its_1km_grid_square():
    to_bng = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
    x, y = to_bng.transform(*TOWN_HALL)
    point = geo.published_point(Point(*TOWN_HALL), "approximate")
    cx, cy = to_bng.transform(point.x, point.y)
    # The centre of the square, computed independently: 500 m past the kilometre below.
    assert cx == pytest.approx(x // 1000 * 1000 + 500, abs=0.01)
    assert cy == pytest.approx(y // 1000 * 1000 + 500, abs=0.01)
    assert 0 < geo.distance_m(TOWN_HALL, (point.x, point.y)) <= 710  # half the diagonal
    # Every point of the square is published at the same place: nothing of the true one.
    to_lonlat = pyproj.Transformer.from_crs(27700, 4326, always_xy=True)
    neighbour = to_lonlat.transform(x // 1000 * 1000 + 999, y // 1000 * 1000 + 1)
    again = geo.published_point(Point(*neighbour), "approximate")
    assert (round(again.x, 9), round(again.y, 9)) == (round(point.x, 9), round(point.y, 9))
    assert f"{point.x:.4f}" != f"{TOWN_HALL[0]:.4f}" or f"{point.y:.4f}" != f"{TOWN_HALL[1]:.4f}"


@pytest.mark.parametrize("precision", ["hidden", "secret", None])
def test_a_hidden_location_or_an_unknown_precision_publishes_no_point(precision):
    published = geo.published_point(Point(*TOWN_HALL), precision)
    if precision is None:  # records without a precision (services) are exact
        assert (published.x, published.y) == TOWN_HALL
    else:
        assert published is None


def test_published_lonlats_generalise_many_points_at_once():
    lons, lats = geo.published_lonlats(
        [-2.2446, -2.2446, -2.2446], [53.4794] * 3, ["exact", "approximate", "hidden"]
    )
    assert (lons[0], lats[0]) == TOWN_HALL
    single = geo.published_point(Point(*TOWN_HALL), "approximate")
    assert (lons[1], lats[1]) == pytest.approx((single.x, single.y))
    assert np.isnan(lons[2]) and np.isnan(lats[2])
