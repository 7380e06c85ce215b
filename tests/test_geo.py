import shapely
from shapely.geometry import Polygon, box

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
