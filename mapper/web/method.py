"""Blueprint `method`: how the figures are made and where the data comes from. The methods of
the gap analysis and of the change pages as pages (`/method`, `/method/<name>`), which every
download's `metadata.documentation` names; the boundaries' attribution every page states."""

from flask import Blueprint, current_app, render_template, url_for
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from mapper.core import analysis
from mapper.errors import NotFound
from mapper.io import exports, method_docs
from mapper.store import queries, version
from mapper.store.db import get_session

method = Blueprint("method", __name__)


def page_url(name):
    """Return the address of a method page: the gap analysis's is /method."""
    if name == method_docs.DEFAULT_DOC:
        return url_for("method.method_page")
    return url_for("method.method_page", name=name)


@method.get("/method", defaults={"name": method_docs.DEFAULT_DOC})
@method.get("/method/<name>")
def method_page(name):
    """A method document as a page."""
    if name not in method_docs.METHOD_DOCS:
        raise NotFound(f"There is no method page {name}.")
    title, body = method_docs.method_html(name, page_url)
    others = [(other, page_url(other)) for other in method_docs.METHOD_DOCS if other != name]
    # The documents are ours, rendered with raw HTML off: their HTML is safe to show.
    return render_template("method.html", title=title, body=Markup(body), others=others)  # noqa: S704


def boundary_attribution():
    """Return the attribution of the current wards' boundaries (their stored source notes,
    else BOUNDARY_ATTRIBUTION), or None when there are none or the database cannot say."""
    try:
        session = get_session()  # every page's footer asks: kept per data version
        notes, vintages = version.per_version(
            session, "boundary_sources", lambda: queries.boundary_sources(session)
        )
    except SQLAlchemyError:
        return None  # an error page, the database away: say nothing rather than fail again
    if not vintages:
        return None
    metadata = {
        "boundary_vintage": vintages[0] if len(vintages) == 1 else vintages,
        "boundary_attribution": analysis.boundary_notes(notes),
    }
    return exports.attribution_of(metadata, current_app.config["BOUNDARY_ATTRIBUTION"])


def method_page_url(documentation):
    """Return the page of the method a metadata's `documentation` names, or None."""
    name = method_docs.doc_name(documentation)
    return page_url(name) if name else None


@method.app_context_processor
def attribution_context():
    """Give every template `boundary_attribution()`, called only where a page shows it, and
    `method_page_url(documentation)`."""
    return {"boundary_attribution": boundary_attribution, "method_page_url": method_page_url}


def init_app(app):
    """Register the method pages."""
    app.register_blueprint(method)
