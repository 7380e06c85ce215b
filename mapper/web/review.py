"""Blueprint `review`: the annual review pack of a local authority, as a page and as a PDF."""

from flask import Blueprint, Response, current_app, render_template, request

from mapper.core import decisions, review, snapshots
from mapper.errors import NotFound
from mapper.http import params
from mapper.http.auth import current_user
from mapper.io import exports, pdf
from mapper.store.db import get_session
from mapper.web import mapdata, maps
from mapper.web.decisions import ACTIONS

review_pages = Blueprint("review", __name__)

PRINT_STYLESHEET = "css/print.css"


def _review(la_code):
    params.only(request.args, "year")
    la_code = la_code.upper()
    if not params.GSS_CODE.match(la_code):
        raise NotFound(f"There is no local authority {la_code}.")
    session = get_session()
    years = review.review_years(session, la_code)
    if not years:
        raise NotFound(f"No snapshot holds the local authority {la_code}.")
    year = params.integer(request.args, "year", years[0], minimum=years[-1], maximum=years[0])
    return review.annual_review(session, current_user(), la_code, year), years


def _context(pack, years):
    return {
        "pack": pack,
        "years": years,
        "actions": ACTIONS,
        "classes": maps.classes_by_value(),
        "category_names": mapdata.category_names(get_session()),
        "rows": [] if pack.change is None else exports.gap_records(pack.change),
        "today": decisions.today().isoformat(),
        "signed_in": current_user() is not None,
    }


@review_pages.get("/review")
def review_index():
    """Choose the local authority of an annual review pack."""
    params.only(request.args)
    return render_template(
        "review/index.html",
        local_authorities=snapshots.held_local_authorities(get_session()),
        styles=maps.evidence_styles(),
    )


@review_pages.get("/review/<la_code>")
def review_page(la_code):
    """The annual review pack of a local authority (`year`, default this one)."""
    pack, years = _review(la_code)
    context = _context(pack, years)
    return render_template("review/page.html", styles=maps.evidence_styles(), **context)


@review_pages.get("/review/<la_code>.pdf")
def review_pdf(la_code):
    """The annual review pack as a PDF, for the partnership meeting."""
    pack, years = _review(la_code)
    html = render_template("review/print.html", **_context(pack, years))
    stylesheet = f"{current_app.static_folder}/{PRINT_STYLESHEET}"
    name = f"annual-review_{pack.la_code}_{pack.year}.pdf"
    return Response(
        pdf.html_to_pdf(html, [stylesheet]),
        mimetype=pdf.PDF_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def init_app(app):
    """Register the annual review pages."""
    app.register_blueprint(review_pages)
