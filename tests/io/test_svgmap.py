"""Static SVG maps (mapper.io.svgmap) for the printed packs."""

import base64
import xml.etree.ElementTree as ET

from shapely.geometry import MultiPolygon, box

from mapper.io import svgmap

SVG = "{http://www.w3.org/2000/svg}"


def test_the_map_fits_the_emphasised_ward_and_draws_its_points_inside_the_picture():
    ward = MultiPolygon([box(-2.0, 53.4, -1.9, 53.5)])
    neighbour = box(-2.1, 53.4, -2.0, 53.5)
    svg = svgmap.map_svg([(neighbour, False), (ward, True)], [(-1.95, 53.45)], "A <map>")
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "A <map>"  # escaped, read back as text
    paths = root.findall(f".//{SVG}path")
    assert [p.get("stroke") for p in paths] == ["#6f777b", "#1d4e89"]
    (dot,) = root.findall(f".//{SVG}circle")
    x, y = float(dot.get("cx")), float(dot.get("cy"))
    assert abs(x - svgmap.WIDTH / 2) < 1 and abs(y - svgmap.HEIGHT / 2) < 1  # the ward's middle
    xs = [float(v.split(",")[0]) for v in paths[1].get("d").replace("M", "").split(" L")[:4]]
    assert min(xs) >= svgmap.MARGIN - 0.1 and max(xs) <= svgmap.WIDTH - svgmap.MARGIN + 0.1


def test_a_map_of_nothing_is_still_a_picture_and_travels_as_a_data_uri():
    svg = svgmap.map_svg([], [], "Empty")
    uri = svgmap.data_uri(svg)
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == svg
