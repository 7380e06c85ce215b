"""Blueprint `apidocs`: the OpenAPI document and a page that presents it."""

from flask import Blueprint, Response, render_template, request

from mapper.api import openapi
from mapper.store import queries
from mapper.store.db import get_session

apidocs = Blueprint("apidocs", __name__, url_prefix="/api")


@apidocs.get("/openapi.json")
def document():
    """Serve the OpenAPI document, with this server as its address."""
    spec = openapi.document(request.url_root, queries.category_slugs(get_session()))
    return Response(openapi.to_json(spec), mimetype="application/json")


@apidocs.get("/")
def page():
    """The API documentation as a page, built from the same document."""
    spec = openapi.document(request.url_root)
    return render_template("openapi.html", spec=spec, operations=list(openapi.operations(spec)))
