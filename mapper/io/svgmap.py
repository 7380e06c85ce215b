"""Static maps as SVG, drawn from geometries in lon/lat: for printed packs, with no tiles."""

import base64
import math
from html import escape

from shapely.geometry import MultiPolygon, Polygon

WIDTH = 640
HEIGHT = 400
MARGIN = 12


def _polygons(geom):
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [g for part in getattr(geom, "geoms", []) for g in _polygons(part)]


def _projector(bounds, width, height):
    """Return a function lon/lat -> x, y fitting `bounds` into the picture (north up)."""
    west, south, east, north = bounds
    squash = math.cos(math.radians((south + north) / 2))  # metres per degree east vs north
    span_x = max((east - west) * squash, 1e-9)
    span_y = max(north - south, 1e-9)
    scale = min((width - 2 * MARGIN) / span_x, (height - 2 * MARGIN) / span_y)
    left = (width - span_x * scale) / 2
    top = (height - span_y * scale) / 2

    def project(lon, lat):
        return left + (lon - west) * squash * scale, top + (north - lat) * scale

    return project


def _path(geom, project):
    parts = []
    for polygon in _polygons(geom):
        for ring in (polygon.exterior, *polygon.interiors):
            xy = [project(lon, lat) for lon, lat in ring.coords]
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + " Z")
    return " ".join(parts)


def map_svg(areas, lonlats, title, width=WIDTH, height=HEIGHT):
    """Return an SVG document of `areas` ([(shapely geometry, emphasised)]) and points
    `lonlats`, fitted to the emphasised areas (all of them if none is)."""
    focus = [g for g, emphasised in areas if emphasised] or [g for g, _ in areas]
    bounds = [g.bounds for g in focus if not g.is_empty]
    if not bounds:
        bounds = [(-1, -1, 1, 1)]
    box = (
        min(b[0] for b in bounds),
        min(b[1] for b in bounds),
        max(b[2] for b in bounds),
        max(b[3] for b in bounds),
    )
    project = _projector(box, width, height)
    shapes = [
        f'<path d="{_path(g, project)}" fill-rule="evenodd" '
        + (
            'fill="#dbe7f5" stroke="#1d4e89" stroke-width="2"/>'
            if emphasised
            else 'fill="#f3f2f1" stroke="#6f777b" stroke-width="0.8"/>'
        )
        for g, emphasised in areas
        if not g.is_empty
    ]
    dots = [
        '<circle cx="{:.1f}" cy="{:.1f}" r="3.5" fill="#d4351c" stroke="#fff" '
        'stroke-width="1"/>'.format(*project(lon, lat))
        for lon, lat in lonlats
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><title>{escape(title)}</title>'
        f'<rect width="{width}" height="{height}" fill="#fff"/>'
        f'<defs><clipPath id="frame"><rect width="{width}" height="{height}"/></clipPath></defs>'
        f'<g clip-path="url(#frame)">{"".join(shapes)}{"".join(dots)}</g></svg>'
    )


def data_uri(svg):
    """Return an SVG document as a `data:` URI, for an <img> in a printed pack."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
