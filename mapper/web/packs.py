"""Blueprint `packs`: the printable ward packs, one per ward and one per local authority (PDF).

The figures are those of the ward profile (`core.profiles` over `core.analysis`), every group
and service is listed (WeasyPrint pages them), and the map is an SVG drawn here from the stored
shapes, so that a pack needs no tiles and nothing from the network.
"""

import math

import shapely
from flask import Blueprint, Response, current_app, render_template, request
from sqlalchemy import func, select

from mapper import geo
from mapper.core import analysis, decisions, profiles
from mapper.errors import NotFound
from mapper.http import params
from mapper.http.responses import documentation_url
from mapper.io import exports, pdf, svgmap
from mapper.store import queries
from mapper.store.db import get_session
from mapper.store.models import CommunityGroup, Service
from mapper.web import mapdata, maps

packs = Blueprint("packs", __name__)

STYLESHEETS = ("css/print.css", "css/pack.css")


def _group_lonlats(session, ward_ids):
    """Return the (lon, lat) of the active groups based in the wards `ward_ids`."""
    rows = session.execute(
        select(func.ST_AsBinary(CommunityGroup.geom), CommunityGroup.location_precision).where(
            CommunityGroup.ward_id.in_(ward_ids), CommunityGroup.status == "active"
        )
    ).all()
    if not rows:
        return []
    points = shapely.from_wkb([r[0] for r in rows])
    lons, lats = geo.published_lonlats(
        shapely.get_x(points), shapely.get_y(points), [r[1] for r in rows]
    )
    return [(float(x), float(y)) for x, y in zip(lons, lats, strict=True) if not math.isnan(x)]


def _section(session, ward, rows, names, classes, reach=None):
    """The pack's part about one ward: its figures in words, categories, groups, services."""
    (row,) = [r for r in rows if r["ward_code"] == ward.code]
    group_count, groups = mapdata.listed(session, CommunityGroup, ward, limit=None)
    service_count, services = mapdata.listed(session, Service, ward, limit=None)
    checked = [g.last_verified for g in groups if g.last_verified]
    return {
        "ward": ward,
        "figures": profiles.figures(
            row, rows, ward.la_name or ward.la_code or "scope", classes, reach
        ),
        "categories_present": [names.get(s, s) for s in row["categories_present"]],
        "categories_missing": [names.get(s, s) for s in row["categories_missing"]],
        "groups": groups,
        "group_count": group_count,
        "services": services,
        "service_count": service_count,
        "last_checked": max(checked).isoformat() if checked else None,
    }


def _method(frame):
    """The method, its date and the boundaries' vintage and licence, as the downloads say."""
    metadata = frame.attrs["metadata"]
    vintage = metadata["boundary_vintage"]
    vintage = ", ".join(vintage) if isinstance(vintage, list) else str(vintage or "")
    attribution = exports.attribution_of(metadata, current_app.config["BOUNDARY_ATTRIBUTION"])
    return {
        "name": metadata["method"],
        "version": metadata["method_version"],
        "documentation": documentation_url(metadata["documentation"]),
        "generated_on": metadata["generated_at"][:10],
        "vintage": vintage,
        "attribution": attribution,
    }


def _pdf(template, filename, **context):
    html = render_template(template, today=decisions.today().isoformat(), **context)
    sheets = [f"{current_app.static_folder}/{name}" for name in STYLESHEETS]
    return Response(
        pdf.html_to_pdf(html, sheets),
        mimetype=pdf.PDF_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _scope_wards(session, la_code=None, code=None):
    """Return [(ward, geometry)] of the pack's area and the gap rows of its local authority."""
    if code is not None:
        found = queries.wards(session, codes=[code])
        if not found:
            raise NotFound(f"There is no current ward {code}.")
        ward = found[0][0]
        scope = {"la_codes": [ward.la_code]} if ward.la_code else {"ward_codes": [ward.code]}
        area = queries.wards(session, la_codes=[ward.la_code]) if ward.la_code else found
    else:
        area = queries.wards(session, la_codes=[la_code])
        if not area:
            raise NotFound(f"There is no local authority {la_code} with current wards.")
        scope = {"la_codes": [la_code]}
    frame = analysis.compute_gaps(session, **scope)
    return area, frame


@packs.get("/wards/<code>.pdf")
def ward_pack(code):
    """A ward's pack as a PDF: its map, figures in words, every group and service, the method."""
    params.only(request.args)
    code = code.upper()
    if not params.GSS_CODE.match(code):
        raise NotFound(f"There is no current ward {code}.")
    session = get_session()
    area, frame = _scope_wards(session, code=code)
    (ward,) = [w for w, _ in area if w.code == code]
    rows = exports.gap_records(frame)
    names = mapdata.category_names(session)
    reach = analysis.reach_description(frame, names)
    section = _section(session, ward, rows, names, maps.classes_by_value(), reach)
    svg = svgmap.map_svg(
        [(geom, w.code == code) for w, geom in area],
        _group_lonlats(session, [ward.id]),
        f"Map of {ward.name} and its groups",
    )
    return _pdf(
        "packs/ward.html",
        f"ward-pack_{ward.code}_{decisions.today().isoformat()}.pdf",
        section=section,
        map_uri=svgmap.data_uri(svg),
        method=_method(frame),
    )


@packs.get("/la/<la_code>.pdf")
def la_pack(la_code):
    """A local authority's pack as a PDF: its map, every ward's figures, groups and services."""
    params.only(request.args)
    code = la_code.upper()
    if not params.GSS_CODE.match(code):
        raise NotFound(f"There is no local authority {code} with current wards.")
    session = get_session()
    area, frame = _scope_wards(session, la_code=code)
    rows = exports.gap_records(frame)
    names = mapdata.category_names(session)
    classes = maps.classes_by_value()
    reach = analysis.reach_description(frame, names)
    sections = [_section(session, ward, rows, names, classes, reach) for ward, _ in area]
    la_name = next((w.la_name for w, _ in area if w.la_name), code)
    svg = svgmap.map_svg(
        [(geom, True) for _, geom in area],
        _group_lonlats(session, [w.id for w, _ in area]),
        f"Map of the wards of {la_name} and their groups",
    )
    return _pdf(
        "packs/la.html",
        f"la-pack_{code}_{decisions.today().isoformat()}.pdf",
        la_code=code,
        la_name=la_name,
        sections=sections,
        map_uri=svgmap.data_uri(svg),
        method=_method(frame),
    )


def init_app(app):
    """Register the ward packs."""
    app.register_blueprint(packs)
