"""Blueprint `method`: the methods of the gap analysis and of the change pages, as pages
(`/method` and `/method/<name>`), which every download's `metadata.documentation` names."""

from flask import Blueprint, render_template, url_for
from markupsafe import Markup

from mapper.errors import NotFound
from mapper.io import method_docs

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


def init_app(app):
    """Register the method pages."""
    app.register_blueprint(method)
